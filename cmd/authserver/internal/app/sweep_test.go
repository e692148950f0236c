package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/memstore"
)

// TestSweepReportsAbandonedSessions: a session whose user never comes back
// is ended by the periodic sweep, its expiry logged with the user and
// counted in sessions_expired_total, without any request presenting it.
func TestSweepReportsAbandonedSessions(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()} // the memory store expires by the real clock
	e := newEnv(t, func(o *envOptions) { o.opts.Now = clock.Now })
	c := e.client("c")
	apptest.MustSeeOther(t, c.Register("abby", apptest.TestPassword), "/")
	clock.Advance(sessionkit.DefaultIdleTimeout + time.Minute)

	e.sweepUntil(func(logs string) bool { return strings.Contains(logs, "sessionkit: session expired") })

	var line string
	for l := range strings.Lines(e.logs.String()) {
		if strings.Contains(l, "sessionkit: session expired") {
			line = l
		}
	}
	if !strings.Contains(line, `reason="idle timeout"`) || !strings.Contains(line, "user=") || strings.Contains(line, c.SessionCookie().Value) {
		t.Fatalf("expiry log line %q; want the idle timeout and the user, never the token", line)
	}
	ms := httptest.NewServer(e.app.MetricsHandler())
	defer ms.Close()
	if r := apptest.NewClient(t, ms, "prometheus").Get("/metrics"); !strings.Contains(r.Text, `authserver_sessions_expired_total{reason="idle timeout"} 1`) {
		t.Errorf("/metrics does not count the swept expiry:\n%s", grepLines(r.Text, "expired"))
	}
}

// brokenIterator is a memstore whose Iterate fails.
type brokenIterator struct{ *memstore.Store }

func (brokenIterator) Iterate(context.Context, string, int) ([]sessionkit.SessionInfo, string, error) {
	return nil, "", errors.New("iterate failed: key secret-store-key")
}

// TestSweepFailureLogged: a failed sweep is logged at Warn with its class,
// not the store's message, and the sweeping goes on.
func TestSweepFailureLogged(t *testing.T) {
	t.Parallel()
	ms := memstore.New(memstore.Options{})
	t.Cleanup(func() { ms.Close() })
	e := newEnv(t, func(o *envOptions) { o.opts.Store = brokenIterator{ms} })
	e.sweepUntil(func(logs string) bool { return strings.Count(logs, "session sweep failed") >= 2 })
	logs := e.logs.String()
	if strings.Count(logs, "level=WARN msg=\"session sweep failed\" outcome=error") < 2 {
		t.Fatalf("want repeated Warn lines for the failed sweeps; got:\n%s", logs)
	}
	if strings.Contains(logs, "secret-store-key") {
		t.Fatal("the store's error message, which may quote a key, was logged")
	}
}

// sweepUntil runs the app's sweeper every 5 ms until done holds for the
// logs, or 10 seconds have passed, and stops it.
func (e *env) sweepUntil(done func(logs string) bool) {
	ctx, stop := context.WithCancel(e.t.Context())
	stopped := make(chan struct{})
	go func() { defer close(stopped); e.app.SweepSessions(ctx, 5*time.Millisecond) }()
	for deadline := time.Now().Add(10 * time.Second); !done(e.logs.String()) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	<-stopped
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// TestSweepIntervalFlag: -sweep-interval defaults to a minute, 0 turns the
// sweep off, a negative interval is refused, and -h names it.
func TestSweepIntervalFlag(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, DefaultSweepInterval},
		{[]string{"-sweep-interval", "0"}, 0},
		{[]string{"-sweep-interval", "30s"}, 30 * time.Second},
	} {
		if c, err := ParseFlags(tc.args, getenv, io.Discard); err != nil || c.SweepInterval != tc.want {
			t.Errorf("%q: SweepInterval %v, %v; want %v", tc.args, c.SweepInterval, err, tc.want)
		}
	}
	if _, err := ParseFlags([]string{"-sweep-interval", "-1s"}, getenv, io.Discard); err == nil {
		t.Error("a negative -sweep-interval was accepted")
	}
	var help bytes.Buffer
	ParseFlags([]string{"-h"}, getenv, &help)
	if !strings.Contains(help.String(), "-sweep-interval") {
		t.Error("-h does not mention -sweep-interval")
	}
}
