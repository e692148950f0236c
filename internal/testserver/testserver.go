// Package testserver starts real servers (redis-server, postgres, …) for
// tests, on free loopback ports in temporary directories, and stops them when
// the test ends.
//
// When a server binary is missing, a test skips with a clear message, except
// in CI: when SESSIONKIT_REQUIRE_SERVERS or CI is set to a true value, a
// missing binary fails the test instead, so that nothing is skipped silently.
package testserver

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Strict reports whether a missing server must fail the test rather than
// skip it.
func Strict() bool {
	for _, name := range []string{"SESSIONKIT_REQUIRE_SERVERS", "CI"} {
		if v, err := strconv.ParseBool(os.Getenv(name)); err == nil && v {
			return true
		}
	}
	return false
}

// LookPath returns the path of the first binary found among names, looking
// in PATH and then in dirs. When none is found it skips the test, or fails it
// when Strict is true.
func LookPath(t testing.TB, dirs []string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, d := range dirs {
			p := d + "/" + name
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	Unavailable(t, "none of %v is installed (run ./scripts/test.sh, which installs the test servers)", names)
	return ""
}

// Unavailable skips the test with the message, or fails it when Strict is
// true.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("required test server unavailable: "+format, args...)
	}
	t.Skipf("skipping: "+format, args...)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// process is a server started by a helper, with a channel closed when it
// exits.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startProcess starts cmd and watches for its exit.
func startProcess(cmd *exec.Cmd) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop interrupts the process (SIGINT: redis-server exits, postgres does a
// fast shutdown) and kills it if it has not exited after timeout.
func (p *process) stop(timeout time.Duration) {
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
	}
}

// kill kills the process with SIGKILL and waits for it to exit.
func (p *process) kill() {
	p.cmd.Process.Kill()
	<-p.done
}
