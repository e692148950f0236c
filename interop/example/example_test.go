package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/internal/testserver"
)

// TestExample runs the seed's redis-session.js next to the Go handler, on
// one Redis, and visits both with one cookie jar.
func TestExample(t *testing.T) {
	node := testserver.LookPath(t, []string{"/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"}, "node")
	if _, err := os.Stat(filepath.Join("node_modules", "connect-redis")); err != nil {
		t.Fatalf("the example's npm packages are not installed: run `npm ci` in interop/example (./scripts/test.sh does it): %v", err)
	}
	r := testserver.StartRedis(t)
	port := testserver.FreePort(t)
	cmd := exec.Command(node, "redis-session.js")
	cmd.Env = append(os.Environ(), "REDIS_URL=redis://"+r.Addr, fmt.Sprintf("PORT=%d", port))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("node stderr:\n%s", stderr.String())
		}
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Server running") {
				ready <- true
			}
		}
		close(ready)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("redis-session.js exited: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("redis-session.js did not start")
	}

	client := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { client.Close() })
	h, err := newHandler(client)
	if err != nil {
		t.Fatal(err)
	}
	goSrv := httptest.NewServer(h)
	t.Cleanup(goSrv.Close)
	jsURL := fmt.Sprintf("http://127.0.0.1:%d/", port)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(url string) string {
		t.Helper()
		res, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %s %s", url, res.Status, b)
		}
		return string(b)
	}
	// Express names the user; Go greets the same one from the same session.
	if got := get(jsURL); got != "Hello, John Doe!" {
		t.Fatalf("Express: %q", got)
	}
	keys := client.Keys(context.Background(), "sess:*").Val()
	if got := get(goSrv.URL); got != "Hello from Go, John Doe!" {
		t.Fatalf("Go: %q", got)
	}
	// The session Express created is the one Go used: still one key.
	if again := client.Keys(context.Background(), "sess:*").Val(); len(keys) != 1 || len(again) != 1 || keys[0] != again[0] {
		t.Fatalf("sessions %v then %v", keys, again)
	}
	// Another user's visit in Go first: Express greets the user Go named.
	c.Jar, _ = cookiejar.New(nil)
	if got := get(goSrv.URL); got != "Hello from Go, John Doe!" {
		t.Fatalf("Go first: %q", got)
	}
	if got := get(jsURL); got != "Hello, John Doe!" {
		t.Fatalf("Express after Go: %q", got)
	}
	if n := len(client.Keys(context.Background(), "sess:*").Val()); n != 2 {
		t.Fatalf("%d sessions, want 2", n)
	}
}
