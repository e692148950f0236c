//go:build unix

package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinary builds the authserver command and runs it as a user would,
// with no flags but an address: it creates ./data, serves, and shuts down
// cleanly on SIGTERM.
func TestBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "authserver")
	build := exec.Command("go", "build", "-o", bin, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	help, err := exec.Command(bin, "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(help), "-sessions") {
		t.Fatalf("-h: %v\n%s", err, help)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AUTHSERVER_SESSION_SECRET=", "AUTHSERVER_SESSIONS=", "AUTHSERVER_USERS=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs <- sc.Text()
		}
		close(logs)
	}()
	addrRE := regexp.MustCompile(`msg="authserver listening" addr=(\S+)`)
	var addr string
	var all []string
	for addr == "" {
		select {
		case line, ok := <-logs:
			if !ok {
				t.Fatalf("server exited:\n%s", strings.Join(all, "\n"))
			}
			all = append(all, line)
			if m := addrRE.FindStringSubmatch(line); m != nil {
				addr = m[1]
			}
		case <-ctx.Done():
			t.Fatalf("server did not start:\n%s", strings.Join(all, "\n"))
		}
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("/healthz: %d %q", res.StatusCode, body)
	}
	for _, f := range []string{"data/users.db", "data/sessions.db", "data/session-secret"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "data/session-secret")); err == nil && st.Mode().Perm() != 0o600 {
		t.Errorf("session-secret mode %v", st.Mode().Perm())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for line := range logs {
		all = append(all, line)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, strings.Join(all, "\n"))
	}
	out := strings.Join(all, "\n")
	for _, want := range []string{"generated a new secret", "Secure cookies", "shutting down"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}
