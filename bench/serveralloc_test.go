package bench_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/bench/internal/apps"
	skmem "github.com/sessionkit/sessionkit/memstore"
)

// maxExtraAllocs bounds what a /read through sessionkit and memstore may
// allocate per request over the same handler without sessions, both served
// by a real net/http server and counted in the whole process (server and
// client). Measured 10 on Go 1.26:
//
//   - the Vary: Cookie header: net/http copies a header map the handler has
//     touched when the response starts (3 allocations), and the first entry
//     of the handler's empty header map allocates its group (1); the client
//     parses one header more (about 1);
//   - the Cookie request header, parsed by net/http (about 1);
//   - the request's session, its context node and its response writer, in
//     one piece (1); r.WithContext (1); the store key (1);
//   - Get's decoded string (1).
const maxExtraAllocs = 11

// TestServerAllocations guards the cost of a read request through the
// middleware as a server sees it: allocation counts do not depend on the
// machine's load, unlike timings.
func TestServerAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	store := skmem.New(skmem.Options{})
	t.Cleanup(func() { store.Close() })
	sk, err := apps.NewSessionkit(store, nil)
	if err != nil {
		t.Fatal(err)
	}
	hello := serveLoopback(t, apps.Handler(apps.None{}))
	skAddr := serveLoopback(t, apps.Handler(sk))
	resp, err := http.Get("http://" + skAddr + "/read")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie, _, _ := strings.Cut(resp.Header.Get("Set-Cookie"), ";")
	if cookie == "" {
		t.Fatal("no session cookie")
	}
	base := allocsPerRequest(t, hello, "")
	with := allocsPerRequest(t, skAddr, cookie)
	t.Logf("allocations per /read: %.1f without sessions, %.1f with sessionkit + memstore (%+.1f)", base, with, with-base)
	if with-base > maxExtraAllocs {
		t.Errorf("sessionkit adds %.1f allocations per read request; want at most %d", with-base, maxExtraAllocs)
	}
}

// serveLoopback serves h on a free loopback port until the test ends.
func serveLoopback(t *testing.T, h http.Handler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// allocsPerRequest sends GET /read over one keep-alive connection and
// returns the process's allocations per request, the best of three runs
// (a background goroutine of the runtime can only add to a run).
func allocsPerRequest(t *testing.T, addr, cookie string) float64 {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET /read HTTP/1.1\r\nHost: bench\r\n"
	if cookie != "" {
		req += "Cookie: " + cookie + "\r\n"
	}
	req += "\r\n"
	br := bufio.NewReader(c)
	do := func() {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for range 500 {
		do()
	}
	const n = 5000
	best := -1.0
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range n {
			do()
		}
		runtime.ReadMemStats(&after)
		if a := float64(after.Mallocs-before.Mallocs) / n; best < 0 || a < best {
			best = a
		}
	}
	return best
}
