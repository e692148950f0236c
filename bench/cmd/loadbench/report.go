package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strconv"
	"strings"
)

// row is the summary of one server and endpoint over every round at one
// connection count.
type row struct {
	Server, Mode, Endpoint string
	ReqPerS                float64 // median
	CPUus                  float64 // median server CPU µs per request
	P50us, P99us           float64 // medians
	Errors                 int64   // sum
	RSS                    int64   // peak of the server process, bytes
	Rounds                 int
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summarize returns the medians of every server and endpoint at conns.
func summarize(list []*server, runs []run, rss map[string]int64, conns int) []row {
	var rows []row
	for _, s := range list {
		for _, ep := range endpoints {
			r := row{Server: s.Name, Mode: s.Mode, Endpoint: ep, RSS: rss[s.Name]}
			var rps, cpu, p50, p99 []float64
			for _, x := range runs {
				if x.Server == s.Name && x.Endpoint == ep && x.Conns == conns {
					rps, cpu = append(rps, x.ReqPerS), append(cpu, x.CPUus)
					p50, p99 = append(p50, x.P50us), append(p99, x.P99us)
					r.Errors += x.Errors
					r.Rounds++
				}
			}
			r.ReqPerS, r.CPUus, r.P50us, r.P99us = median(rps), median(cpu), median(p50), median(p99)
			rows = append(rows, r)
		}
	}
	return rows
}

func latency(us float64) string {
	if us >= 1000 {
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// rate returns a run's requests per second.
func rate(r run) float64 { return r.ReqPerS }

// cpuRate returns the requests per second of CPU time the server spent: the
// throughput the run would have had with one core to itself.
func cpuRate(r run) float64 {
	if r.CPUus == 0 {
		return 0
	}
	return 1e6 / r.CPUus
}

// pairedRatios returns, for each round at conns, value of mode's run divided
// by that of base's run on endpoint in the same round, sorted. Within a
// round the servers run one after the other, so each ratio compares them on
// nearly the same machine load.
func pairedRatios(runs []run, mode, base, endpoint string, conns int, value func(run) float64) []float64 {
	rps := make(map[string]map[int]float64) // mode → round → value
	for _, s := range servers {
		if s.Mode != mode && s.Mode != base {
			continue
		}
		rps[s.Mode] = make(map[int]float64)
		for _, r := range runs {
			if r.Server == s.Name && r.Endpoint == endpoint && r.Conns == conns {
				rps[s.Mode][r.Round] = value(r)
			}
		}
	}
	var out []float64
	for round, a := range rps[mode] {
		if b := rps[base][round]; a > 0 && b > 0 {
			out = append(out, a/b)
		}
	}
	slices.Sort(out)
	return out
}

// paired returns the median of the paired ratios as a table cell.
func paired(runs []run, mode, base, endpoint string, conns int) string {
	p := pairedRatios(runs, mode, base, endpoint, conns, rate)
	if len(p) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", median(p))
}

// target is a goal of issue 16, judged at the first connection count.
type target struct {
	what, mode, base, endpoint string
	want                       float64
}

var targets = []target{
	{"sessionkit + redisstore `/read` vs floor", "sk-redis", "floor", "/read", 0.95},
	{"sessionkit + redisstore `/write` vs floor", "sk-redis", "floor", "/write", 0.90},
	{"sessionkit + redisstore, AutoPipeline, `/read` vs floor", "sk-redis-ap", "floor", "/read", 0.95},
	{"sessionkit + redisstore, AutoPipeline, `/write` vs floor", "sk-redis-ap", "floor", "/write", 0.90},
	{"sessionkit + rueidisstore `/read` vs floor", "sk-rueidis", "floor", "/read", 1.1},
	{"sessionkit + rueidisstore `/write` vs floor", "sk-rueidis", "floor", "/write", 1.2},
	{"sessionkit + rueidisstore, MaxFlushDelay 100 µs, `/read` vs floor", "sk-rueidis-flush", "floor", "/read", 1.1},
	{"sessionkit + rueidisstore, MaxFlushDelay 100 µs, `/write` vs floor", "sk-rueidis-flush", "floor", "/write", 1.2},
	{"sessionkit + rueidisstore, cached, `/read` vs floor", "sk-rueidis-cached", "floor", "/read", 2.0},
	{"sessionkit + memstore `/read` vs hello-world", "sk-mem", "hello", "/read", 0.85},
}

// markdown renders the table of one connection count and its targets.
func markdown(c config, conns int, list []*server, runs []run, rss map[string]int64) string {
	rows := summarize(list, runs, rss, conns)
	var b strings.Builder
	fmt.Fprintf(&b, "### wrk -t%d -c%d\n\n", c.threads, conns)
	lo, hi := math.Inf(1), 0.0
	for _, r := range runs {
		if r.Conns == conns {
			lo, hi = min(lo, r.LoadStart, r.LoadEnd), max(hi, r.LoadStart, r.LoadEnd)
		}
	}
	fmt.Fprintf(&b, "%v per run after a %v warm-up, %d interleaved rounds; medians over the rounds, errors summed; "+
		"1-minute load average %.2f–%.2f during the runs. CPU is the server process's user+system time per request. "+
		"The × columns are medians of ratios taken round by round, so that both sides of each ratio saw nearly the same load.\n\n",
		c.duration, c.warmup, c.rounds, lo, hi)
	b.WriteString("| server | endpoint | req/s | CPU µs/req | p50 | p99 | errors | server RSS | × floor | × express | × hello |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %.1f | %s | %s | %d | %.1f MiB | %s | %s | %s |\n",
			r.Server, r.Endpoint, r.ReqPerS, r.CPUus, latency(r.P50us), latency(r.P99us), r.Errors,
			float64(r.RSS)/(1<<20),
			paired(runs, r.Mode, "floor", r.Endpoint, conns),
			paired(runs, r.Mode, "express", r.Endpoint, conns),
			paired(runs, r.Mode, "hello", r.Endpoint, conns))
	}
	var lines []string
	for _, t := range targets {
		p := pairedRatios(runs, t.mode, t.base, t.endpoint, conns, rate)
		if len(p) == 0 {
			continue
		}
		cpu := median(pairedRatios(runs, t.mode, t.base, t.endpoint, conns, cpuRate))
		var each []string
		for _, r := range p {
			each = append(each, fmt.Sprintf("%.2f", r))
		}
		got := median(p)
		verdict := "met"
		if got < t.want {
			verdict = "MISSED"
		}
		if conns != c.conns[0] {
			verdict = "(judged at c" + strconv.Itoa(c.conns[0]) + ")"
		}
		lines = append(lines, fmt.Sprintf("| %s ≥ %.2f× | %.2f× | %s | %.2f× | %s |\n", t.what, t.want, got, strings.Join(each, ", "), cpu, verdict))
	}
	if len(lines) > 0 {
		b.WriteString("\nTargets: the median of the paired req/s ratios of the rounds. The CPU ratio (median of the paired ratios of\n")
		b.WriteString("requests per CPU second of the server, base's CPU µs/req ÷ the stack's) is shown beside: it moves less with the load.\n\n")
		b.WriteString("| target | paired ratio, median | each round (sorted) | CPU ratio, median | verdict |\n|---|--:|---|--:|---|\n")
		for _, l := range lines {
			b.WriteString(l)
		}
	}
	return b.String()
}

// chart renders the median req/s of every server and endpoint as a
// horizontal grouped bar chart.
func chart(rows []row) string {
	const (
		labelW = 250
		barW   = 520
		barH   = 14
		gap    = 10
		top    = 40
	)
	var names []string
	peak := 0.0
	for _, r := range rows {
		if !slices.Contains(names, r.Server) {
			names = append(names, r.Server)
		}
		peak = max(peak, r.ReqPerS)
	}
	if peak == 0 {
		peak = 1
	}
	colors := map[string]string{"/read": "#4e79a7", "/write": "#f28e2b"}
	height := top + len(names)*(2*barH+gap) + 30
	width := labelW + barW + 90
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">Median requests per second (wrk, higher is better)</text>`+"\n")
	fmt.Fprintf(&b, `<rect x="%d" y="8" width="12" height="12" fill="%s"/><text x="%d" y="19">GET /read</text>`+"\n", labelW+barW-150, colors["/read"], labelW+barW-134)
	fmt.Fprintf(&b, `<rect x="%d" y="8" width="12" height="12" fill="%s"/><text x="%d" y="19">GET /write</text>`+"\n", labelW+barW-60, colors["/write"], labelW+barW-44)
	for i, name := range names {
		y := top + i*(2*barH+gap)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+barH+4, html.EscapeString(name))
		for j, ep := range endpoints {
			for _, r := range rows {
				if r.Server != name || r.Endpoint != ep {
					continue
				}
				w := int(float64(barW) * r.ReqPerS / peak)
				by := y + j*barH
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", labelW, by, max(w, 1), barH-2, colors[ep])
				fmt.Fprintf(&b, `<text x="%d" y="%d">%.0f</text>`+"\n", labelW+w+4, by+barH-3, r.ReqPerS)
			}
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", labelW, top-4, labelW, height-26)
	b.WriteString("</svg>\n")
	return b.String()
}
