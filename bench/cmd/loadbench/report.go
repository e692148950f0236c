package main

import (
	"fmt"
	"html"
	"slices"
	"strings"
)

// row is the summary of one server and endpoint over every round.
type row struct {
	Server, Endpoint string
	ReqPerS          float64 // median
	P50us, P99us     float64 // medians
	Errors           int64   // sum
	RSS              int64   // peak of the server process, bytes
	Rounds           int
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

func summarize(list []*server, runs []run, rss map[string]int64) []row {
	var rows []row
	for _, s := range list {
		for _, ep := range endpoints {
			r := row{Server: s.Name, Endpoint: ep, RSS: rss[s.Name]}
			var rps, p50, p99 []float64
			for _, x := range runs {
				if x.Server == s.Name && x.Endpoint == ep {
					rps, p50, p99 = append(rps, x.ReqPerS), append(p50, x.P50us), append(p99, x.P99us)
					r.Errors += x.Errors
					r.Rounds++
				}
			}
			r.ReqPerS, r.P50us, r.P99us = median(rps), median(p50), median(p99)
			rows = append(rows, r)
		}
	}
	return rows
}

// find returns the median req/s of the row whose mode is mode, or 0.
func find(rows []row, mode, endpoint string) float64 {
	for _, s := range servers {
		if s.Mode != mode {
			continue
		}
		for _, r := range rows {
			if r.Server == s.Name && r.Endpoint == endpoint {
				return r.ReqPerS
			}
		}
	}
	return 0
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func latency(us float64) string {
	if us >= 1000 {
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// pairedRatios returns, for each round, the req/s of mode divided by that
// of base on endpoint in the same round, sorted. The two run one after the
// other, so each ratio compares them on the same machine load.
func pairedRatios(runs []run, mode, base, endpoint string) []float64 {
	rps := func(mode string, round int) float64 {
		for _, s := range servers {
			if s.Mode != mode {
				continue
			}
			for _, r := range runs {
				if r.Server == s.Name && r.Endpoint == endpoint && r.Round == round {
					return r.ReqPerS
				}
			}
		}
		return 0
	}
	var out []float64
	for round := 1; ; round++ {
		a, b := rps(mode, round), rps(base, round)
		if a == 0 && b == 0 {
			break
		}
		if a > 0 && b > 0 {
			out = append(out, a/b)
		}
	}
	slices.Sort(out)
	return out
}

// markdown renders the table and the targets.
func markdown(c config, rows []row, runs []run) string {
	var b strings.Builder
	fmt.Fprintf(&b, "wrk -t%d -c%d, %v per run after a %v warm-up, %d interleaved rounds; medians over the rounds, errors summed.\n\n",
		c.threads, c.conns, c.duration, c.warmup, c.rounds)
	b.WriteString("| server | endpoint | req/s | p50 | p99 | errors | server RSS | × floor | × express | × hello |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %s | %d | %.1f MiB | %s | %s | %s |\n",
			r.Server, r.Endpoint, r.ReqPerS, latency(r.P50us), latency(r.P99us), r.Errors,
			float64(r.RSS)/(1<<20),
			ratio(r.ReqPerS, find(rows, "floor", r.Endpoint)),
			ratio(r.ReqPerS, find(rows, "express", r.Endpoint)),
			ratio(r.ReqPerS, find(rows, "hello", r.Endpoint)))
	}
	b.WriteString("\nTargets. The verdict goes by the median of the paired ratios: in each round the two servers run one after\n")
	b.WriteString("the other, so their ratio is taken under the same load. The table's ratio of medians is shown too.\n\n")
	b.WriteString("| target | paired ratio, median | each round (sorted) | ratio of medians | verdict |\n|---|--:|---|--:|---|\n")
	target := func(what, mode, base, endpoint string, want float64) {
		paired := pairedRatios(runs, mode, base, endpoint)
		if len(paired) == 0 {
			return
		}
		var each []string
		for _, r := range paired {
			each = append(each, fmt.Sprintf("%.2f", r))
		}
		got := median(paired)
		verdict := "met"
		if got < want {
			verdict = "MISSED"
		}
		fmt.Fprintf(&b, "| %s ≥ %.1f× | %.2f× | %s | %s | %s |\n", what, want, got, strings.Join(each, ", "),
			ratio(find(rows, mode, endpoint), find(rows, base, endpoint)), verdict)
	}
	target("sessionkit + redisstore `/read` vs floor", "sk-redis", "floor", "/read", 0.9)
	target("sessionkit + redisstore `/write` vs floor", "sk-redis", "floor", "/write", 0.9)
	target("sessionkit + memstore `/read` vs hello-world", "sk-mem", "hello", "/read", 0.7)
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
