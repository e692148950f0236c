// Command loadbench is sessionkit's end-to-end load benchmark. It starts its
// own redis-server on a free loopback port, one benchserver process per Go
// session stack, and the express-session server of bench/node, then runs wrk
// against each server's GET /read and GET /write in interleaved rounds, each
// with session cookies obtained first. Each run also measures the CPU time
// the server process spent per request (utime+stime from /proc/<pid>/stat)
// and the load average before and after it. For each connection count of -c
// (64, then 4, by default) it prints one table of medians, with each
// stack's ratios to the floor, express and hello-world taken round by round,
// and writes the tables, a raw JSON dump and an SVG bar chart to -out.
//
// run.sh builds the binaries and calls it; see docs/BENCHMARKS.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is one process under test.
type server struct {
	Name  string // row label
	Mode  string // benchserver -mode, or "express"
	Redis bool   // backed by Redis

	addr    string
	proc    *proc
	cookies []string // one "Cookie" header value per wrk thread
	script  string   // wrk Lua script path
}

// servers lists the stacks in the order of every round. Each stack that a
// target compares with a reference runs right after it (sessionkit +
// memstore after hello-world, the Redis stacks after the floor), so that
// both see nearly the same machine.
var servers = []*server{
	{Name: "hello-world (ceiling)", Mode: "hello"},
	{Name: "sessionkit + memstore", Mode: "sk-mem"},
	{Name: "scs + memstore", Mode: "scs-mem"},
	{Name: "floor: net/http + go-redis", Mode: "floor", Redis: true},
	{Name: "sessionkit + redisstore", Mode: "sk-redis", Redis: true},
	{Name: "sessionkit + redisstore, AutoPipeline", Mode: "sk-redis-ap", Redis: true},
	{Name: "redisstore alone, no manager", Mode: "redisstore", Redis: true},
	{Name: "sessionkit + rueidisstore", Mode: "sk-rueidis", Redis: true},
	{Name: "sessionkit + rueidisstore, MaxFlushDelay 100 µs", Mode: "sk-rueidis-flush", Redis: true},
	{Name: "sessionkit + rueidisstore, client-side cache", Mode: "sk-rueidis-cached", Redis: true},
	{Name: "scs + goredisstore", Mode: "scs-redis", Redis: true},
	{Name: "express-session + connect-redis", Mode: "express", Redis: true},
	{Name: "sessionkit + cookiestore", Mode: "sk-cookie"},
	{Name: "gorilla CookieStore", Mode: "gorilla-cookie"},
}

var endpoints = []string{"/read", "/write"}

// run is the result of one wrk run.
type run struct {
	Server    string  `json:"server"`
	Endpoint  string  `json:"endpoint"`
	Conns     int     `json:"conns"`
	Round     int     `json:"round"`
	Requests  int64   `json:"requests"`
	ReqPerS   float64 `json:"req_per_s"`
	CPUus     float64 `json:"cpu_us_per_req"` // server process CPU time (user+system) per request
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	Errors    int64   `json:"errors"`
	Non2xx    int64   `json:"non_2xx"`
	LoadStart float64 `json:"load1_start"` // 1-minute load average before the run
	LoadEnd   float64 `json:"load1_end"`   // and after it
}

type config struct {
	serverBin, nodeDir, redisBin, wrkBin, out string
	duration, warmup                          time.Duration
	rounds, threads                           int
	conns                                     []int
	only                                      string
	quick                                     bool
}

// quick is the smoke-test setting of -quick: short runs, two rounds.
var quick = struct {
	duration, warmup time.Duration
	rounds           int
}{time.Second, time.Second, 2}

func main() {
	var c config
	flag.StringVar(&c.serverBin, "server", "", "path of the benchserver binary (required)")
	flag.StringVar(&c.nodeDir, "node", "node", "directory of the express-session server, with node_modules installed (empty: no express row)")
	flag.StringVar(&c.redisBin, "redis-server", "redis-server", "redis-server binary")
	flag.StringVar(&c.wrkBin, "wrk", "wrk", "wrk binary")
	flag.StringVar(&c.out, "out", "", "directory to write results.md, results.json and results.svg to (none if empty)")
	flag.DurationVar(&c.duration, "d", 3*time.Second, "duration of each measured wrk run")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "duration of the warm-up run of each server and endpoint")
	flag.IntVar(&c.rounds, "rounds", 5, "interleaved rounds")
	flag.IntVar(&c.threads, "t", 2, "wrk threads (one session per thread)")
	conns := flag.String("c", "64,4", "wrk connections: a comma-separated list, one table each")
	flag.StringVar(&c.only, "only", "", "comma-separated modes to run (default all)")
	flag.BoolVar(&c.quick, "quick", false, fmt.Sprintf("smoke test: %v runs, %v warm-up, %d rounds, tables printed only (overrides -d, -warmup, -rounds and -out)",
		quick.duration, quick.warmup, quick.rounds))
	flag.Parse()
	log.SetFlags(log.Ltime)
	if c.serverBin == "" {
		log.Fatal("loadbench: -server is required")
	}
	var err error
	if c.conns, err = parseConns(*conns); err != nil {
		log.Fatal("loadbench: -c: ", err)
	}
	if c.quick {
		// A smoke test's figures are not results: print them only.
		c.duration, c.warmup, c.rounds, c.out = quick.duration, quick.warmup, quick.rounds, ""
	}
	if err := bench(c); err != nil {
		log.Fatal("loadbench: ", err)
	}
}

// parseConns parses the -c list.
func parseConns(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive connection count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// selected returns the servers that c runs: those of -only, without
// express when no node directory is given.
func selected(c config) []*server {
	var modes []string
	if c.only != "" {
		modes = strings.Split(c.only, ",")
	}
	return slices.DeleteFunc(slices.Clone(servers), func(s *server) bool {
		return (modes != nil && !slices.Contains(modes, s.Mode)) || (s.Mode == "express" && c.nodeDir == "")
	})
}

func bench(c config) error {
	list := selected(c)
	if len(list) == 0 {
		return errors.New("no server selected")
	}
	tmp, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var redisAddr string
	if slices.ContainsFunc(list, func(s *server) bool { return s.Redis }) {
		addr, stopRedis, err := startRedis(c.redisBin, tmp)
		if err != nil {
			return err
		}
		defer stopRedis()
		redisAddr = addr
		log.Printf("redis-server on %s", redisAddr)
	}

	defer func() {
		for _, s := range list {
			s.proc.stop()
		}
	}()
	for _, s := range list {
		if err := startServer(c, s, redisAddr, tmp); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		if err := prepare(c, s, tmp); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		log.Printf("%-32s on %s", s.Name, s.addr)
	}

	loadStart := loadAverage()
	log.Printf("load average %s", loadStart)
	log.Printf("warm-up: %v per server and endpoint at c%d", c.warmup, c.conns[0])
	for _, s := range list {
		for _, ep := range endpoints {
			if _, err := wrk(c, s, ep, c.conns[0], c.warmup); err != nil {
				return err
			}
		}
	}
	var runs []run
	for _, conns := range c.conns {
		for round := 1; round <= c.rounds; round++ {
			log.Printf("c%d, round %d of %d; load average %s", conns, round, c.rounds, loadAverage())
			for _, ep := range endpoints {
				for _, s := range list {
					r, err := wrk(c, s, ep, conns, c.duration)
					if err != nil {
						return err
					}
					r.Server, r.Endpoint, r.Round = s.Name, ep, round
					log.Printf("  %-32s %-6s %8.0f req/s %7.1f µs CPU/req  load %.2f→%.2f",
						s.Name, ep, r.ReqPerS, r.CPUus, r.LoadStart, r.LoadEnd)
					runs = append(runs, r)
				}
			}
		}
	}
	loadEnd := loadAverage()
	log.Printf("load average %s", loadEnd)
	rss := make(map[string]int64)
	for _, s := range list {
		rss[s.Name] = peakRSS(s.proc.cmd.Process.Pid)
	}

	var table strings.Builder
	fmt.Fprintf(&table, "Load average (1, 5, 15 min) at the start: %s; at the end: %s.\n\n", loadStart, loadEnd)
	for _, conns := range c.conns {
		table.WriteString(markdown(c, conns, list, runs, rss))
		table.WriteString("\n")
	}
	fmt.Println()
	fmt.Print(table.String())
	if c.out == "" {
		return nil
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(runs, "", "  ")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"results.md":   []byte(table.String()),
		"results.json": append(raw, '\n'),
		"results.svg":  []byte(chart(summarize(list, runs, rss, c.conns[0]))),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(c.out, name), b, 0o644); err != nil {
			return err
		}
	}
	log.Printf("wrote results.md, results.json and results.svg to %s", c.out)
	return nil
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// proc is a process started by start.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
}

// waitListening waits until addr accepts connections or p exits.
func waitListening(addr string, p *proc) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited: %v", p.cmd.Path, p.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not listen on %s within 30s", p.cmd.Path, addr)
}

// start starts cmd, its output going to the log file name in dir, and waits
// until it listens on addr.
func start(cmd *exec.Cmd, addr, dir, name string) (*proc, error) {
	f, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	if err := waitListening(addr, p); err != nil {
		p.stop()
		log, _ := os.ReadFile(f.Name())
		return nil, fmt.Errorf("%w\n%s", err, log)
	}
	return p, nil
}

// stop ends p: SIGTERM, then SIGKILL after 5 seconds.
func (p *proc) stop() {
	if p == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func startRedis(bin, tmp string) (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	dir := filepath.Join(tmp, "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", dir, "--protected-mode", "yes")
	p, err := start(cmd, addr, tmp, "redis-server")
	if err != nil {
		return "", nil, err
	}
	return addr, p.stop, nil
}

func startServer(c config, s *server, redisAddr, tmp string) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	s.addr = addr
	var cmd *exec.Cmd
	if s.Mode == "express" {
		_, port, _ := net.SplitHostPort(addr)
		cmd = exec.Command("node", "redis-session.js")
		cmd.Dir = c.nodeDir
		cmd.Env = append(os.Environ(), "PORT="+port, "REDIS_URL=redis://"+redisAddr, "NODE_ENV=production")
	} else {
		cmd = exec.Command(c.serverBin, "-mode", s.Mode, "-addr", addr, "-redis", redisAddr)
	}
	s.proc, err = start(cmd, addr, tmp, s.Mode)
	return err
}

// prepare obtains one session per wrk thread (GET /read without a cookie)
// and writes the wrk script that sends them.
func prepare(c config, s *server, tmp string) error {
	client := &http.Client{Timeout: 10 * time.Second}
	for range c.threads {
		resp, err := client.Get("http://" + s.addr + "/read")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /read: %s", resp.Status)
		}
		var pairs []string
		for _, ck := range resp.Cookies() {
			pairs = append(pairs, ck.Name+"="+ck.Value)
		}
		if len(pairs) == 0 {
			// The ceiling sets no cookie; send one of a session's size
			// so every request has the same shape.
			pairs = []string{"sid=" + strings.Repeat("x", 43)}
		}
		s.cookies = append(s.cookies, strings.Join(pairs, "; "))
	}
	var quoted []string
	for _, ck := range s.cookies {
		quoted = append(quoted, strconv.Quote(ck))
	}
	script := fmt.Sprintf(wrkScript, strings.Join(quoted, ", "))
	s.script = filepath.Join(tmp, s.Mode+".lua")
	return os.WriteFile(s.script, []byte(script), 0o644)
}

// wrkScript gives each wrk thread its own session cookie, keeps the request
// static (wrk's fast path) and prints the results as one JSON line.
const wrkScript = `local cookies = {%s}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("cookie", cookies[(threads - 1) %% #cookies + 1])
end

function init(args)
  wrk.headers["Cookie"] = cookie
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'LOADBENCH {"requests":%%d,"duration_us":%%d,"errors":%%d,"non_2xx":%%d,"p50_us":%%d,"p99_us":%%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
`

// wrk runs wrk with conns connections against s's endpoint for d, and
// measures the server's CPU time and the load average around it.
func wrk(c config, s *server, endpoint string, conns int, d time.Duration) (run, error) {
	secs := max(1, int(d.Round(time.Second)/time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.wrkBin, "-t", strconv.Itoa(c.threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(secs)+"s", "--timeout", "5s", "-s", s.script, "http://"+s.addr+endpoint)
	pid := s.proc.cmd.Process.Pid
	loadBefore := load1()
	cpu0, cpuErr := cpuTime(pid)
	out, err := cmd.CombinedOutput()
	cpu1, cpuErr1 := cpuTime(pid)
	loadAfter := load1()
	if err != nil {
		return run{}, fmt.Errorf("wrk %s%s: %w\n%s", s.Name, endpoint, err, out)
	}
	for line := range strings.Lines(string(out)) {
		js, ok := strings.CutPrefix(line, "LOADBENCH ")
		if !ok {
			continue
		}
		var v struct {
			Requests   int64   `json:"requests"`
			DurationUS int64   `json:"duration_us"`
			Errors     int64   `json:"errors"`
			Non2xx     int64   `json:"non_2xx"`
			P50        float64 `json:"p50_us"`
			P99        float64 `json:"p99_us"`
		}
		if err := json.Unmarshal([]byte(js), &v); err != nil {
			return run{}, fmt.Errorf("wrk %s%s: %w", s.Name, endpoint, err)
		}
		if v.DurationUS <= 0 {
			return run{}, fmt.Errorf("wrk %s%s: no duration", s.Name, endpoint)
		}
		if err := errors.Join(cpuErr, cpuErr1); err != nil {
			return run{}, fmt.Errorf("%s: server CPU time: %w", s.Name, err)
		}
		r := run{
			Conns: conns, Requests: v.Requests, ReqPerS: float64(v.Requests) / (float64(v.DurationUS) / 1e6),
			P50us: v.P50, P99us: v.P99, Errors: v.Errors + v.Non2xx, Non2xx: v.Non2xx,
			LoadStart: loadBefore, LoadEnd: loadAfter,
		}
		if v.Requests > 0 {
			r.CPUus = float64(cpu1-cpu0) / float64(time.Microsecond) / float64(v.Requests)
		}
		return r, nil
	}
	return run{}, errors.New("wrk printed no result:\n" + string(out))
}

// peakRSS returns the peak resident set size of process pid in bytes
// (VmHWM), or 0 if it cannot be read.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// clockTick is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, which
// Linux fixes at 100 per second on every architecture that Go supports.
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time (user plus system) that process pid has used
// so far, from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU returns utime+stime of a /proc/<pid>/stat line. The command
// name, field 2, is in parentheses and may hold spaces and parentheses
// itself, so the fields are counted from the last ')'.
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat line")
	}
	// After the name, field 3 (state) is f[0]: utime (14) is f[11] and
	// stime (15) is f[12].
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat line")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("malformed /proc stat line: %w", err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// loadAverage returns the 1, 5 and 15 minute load averages as
// /proc/loadavg shows them, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// load1 returns the 1-minute load average, or 0 if unknown.
func load1() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
