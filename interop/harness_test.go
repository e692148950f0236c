package interop_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/testserver"
)

// nodeDirs are the places besides PATH where node is looked for.
var nodeDirs = []string{"/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"}

// nodeModules fails the test with a clear message when the npm fixture in
// dir has not been installed.
func nodeModules(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "express-session")); err != nil {
		t.Fatalf("the Node.js fixture in %s is not installed: run `npm ci` there (./scripts/test.sh does it): %v", dir, err)
	}
}

// nodeApp is a Node.js process started by startNode.
type nodeApp struct {
	URL string

	mu  sync.Mutex
	log bytes.Buffer
}

func (a *nodeApp) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.Write(p)
}

func (a *nodeApp) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

// startNode runs `node script` in dir with env on a free port, waits for
// the line "listening <port>" (or a line containing readyText) on stdout
// and stops the process when the test ends.
func startNode(t *testing.T, dir, script, readyText string, env ...string) *nodeApp {
	t.Helper()
	node := testserver.LookPath(t, nodeDirs, "node")
	nodeModules(t, dir)
	port := testserver.FreePort(t)
	cmd := exec.Command(node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append(env, fmt.Sprintf("PORT=%d", port))...)
	app := &nodeApp{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	cmd.Stderr = app
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(app, line)
			if strings.Contains(line, readyText) {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() {
		cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("output of node %s:\n%s", script, app)
		}
	})
	select {
	case <-ready:
	case <-done:
		t.Fatalf("node %s exited before it listened:\n%s", script, app)
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not listen within 30s:\n%s", script, app)
	}
	return app
}

// browser is one HTTP client with one cookie jar, like a browser that
// visits both the Express app and the Go service (same host, different
// ports: cookies are shared).
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// get requests url and decodes the JSON answer into a map; it fails the
// test unless the status is 200.
func (b *browser) get(url string) map[string]any {
	b.t.Helper()
	res, err := b.c.Get(url)
	if err != nil {
		b.t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		b.t.Fatalf("GET %s: %s: %s", url, res.Status, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		b.t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return m
}

// sid returns the raw connect.sid cookie the browser holds for url.
func (b *browser) sid(url string) string {
	req, _ := http.NewRequest("GET", url, nil)
	for _, c := range b.c.Jar.Cookies(req.URL) {
		if c.Name == "connect.sid" {
			return c.Value
		}
	}
	return ""
}
