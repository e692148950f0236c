package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	// A command name with a space and a parenthesis, as the kernel shows it.
	line := "4242 (bench server) x) S 1 4242 4242 0 -1 4194560 1187 0 0 0 250 75 0 0 20 0 7 0 1234 0 0\n"
	got, err := parseStatCPU(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 325 * clockTick; got != want {
		t.Errorf("parseStatCPU = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "4242 (x) S 1 2", "4242 (x) S 1 4242 4242 0 -1 4194560 1187 0 0 0 a 75 0"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q) accepted", bad)
		}
	}
}

func TestPairedRatios(t *testing.T) {
	var runs []run
	for round, v := range [][2]float64{{100, 80}, {50, 45}, {200, 100}} {
		runs = append(runs,
			run{Server: "hello-world (ceiling)", Endpoint: "/read", Conns: 64, Round: round + 1, ReqPerS: v[0]},
			run{Server: "sessionkit + memstore", Endpoint: "/read", Conns: 64, Round: round + 1, ReqPerS: v[1]},
			run{Server: "sessionkit + memstore", Endpoint: "/read", Conns: 4, Round: round + 1, ReqPerS: 1})
	}
	got := pairedRatios(runs, "sk-mem", "hello", "/read", 64, rate)
	want := []float64{0.5, 0.8, 0.9}
	if len(got) != len(want) {
		t.Fatalf("pairedRatios = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pairedRatios = %v, want %v", got, want)
		}
	}
	if m := median(got); m != 0.8 {
		t.Errorf("median = %v, want 0.8", m)
	}
}

// TestQuickRun runs the whole harness briefly on the two stacks that need
// neither Redis nor Node: build, start, cookies, wrk, CPU time, tables and
// files.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs wrk for about 10 seconds")
	}
	wrkBin, err := exec.LookPath("wrk")
	if err != nil {
		if os.Getenv("SESSIONKIT_REQUIRE_SERVERS") != "" {
			t.Fatal("wrk is not installed (scripts/test.sh installs it)")
		}
		t.Skip("wrk is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "benchserver")
	if out, err := exec.Command("go", "build", "-o", bin, "../benchserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	c := config{
		serverBin: bin, wrkBin: wrkBin, out: out, only: "hello,sk-mem",
		duration: time.Second, warmup: time.Second, rounds: 1, threads: 2, conns: []int{8, 2},
	}
	if err := bench(c); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### wrk -t2 -c8", "### wrk -t2 -c2", "| sessionkit + memstore | /read |", "memstore `/read` vs hello-world"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	raw, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var runs []run
	if err := json.Unmarshal(raw, &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2*2*2 { // servers × endpoints × connection counts
		t.Fatalf("%d runs, want 8", len(runs))
	}
	var cpu float64
	for _, r := range runs {
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s %s c%d: %d requests, %d errors", r.Server, r.Endpoint, r.Conns, r.Requests, r.Errors)
		}
		cpu += r.CPUus
	}
	if cpu == 0 {
		t.Error("no server CPU time measured in any run")
	}
}
