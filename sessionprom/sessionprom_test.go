package sessionprom_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessionprom"
	"github.com/sessionkit/sessionkit/storewrap"
)

// clock is a settable clock for the manager.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a manager on a memstore whose metrics go to a registry.
type env struct {
	t      *testing.T
	m      *sessionkit.Manager
	reg    *prometheus.Registry
	h      http.Handler
	clock  *clock
	events []sessionkit.Event // seen by the application's own OnEvent
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, reg: prometheus.NewRegistry(), clock: &clock{t: time.Now()}}
	c := sessionprom.New(sessionprom.Options{Namespace: "test"})
	e.reg.MustRegister(c)
	var mu sync.Mutex
	own := func(_ context.Context, ev sessionkit.Event) {
		mu.Lock()
		e.events = append(e.events, ev)
		mu.Unlock()
	}
	var err error
	e.m, err = sessionkit.New(sessionkit.Config{
		Store: c.WrapStore(st), OnEvent: c.Chain(own), Now: e.clock.Now,
		Cookie: sessionkit.CookieConfig{Insecure: true}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := e.m.Session(r.Context())
		s.Renew(false)
		s.SetUserID("u1")
	})
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) { e.m.Session(r.Context()).Put("k", "v") })
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		v, _, _ := sessionkit.Get[string](e.m.Session(r.Context()), "k")
		io.WriteString(w, v)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) { e.m.Session(r.Context()).Destroy() })
	e.h = e.m.Middleware(mux)
	return e
}

// do sends a request with cookie (may be nil) and returns the session
// cookie the response sets, or the one it was given.
func (e *env) do(path string, cookie *http.Cookie) *http.Cookie {
	e.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rr := httptest.NewRecorder()
	e.h.ServeHTTP(rr, req)
	if rr.Code != http.StatusOK {
		e.t.Fatalf("%s: status %d", path, rr.Code)
	}
	for _, c := range rr.Result().Cookies() {
		return c
	}
	return cookie
}

// scrape returns the registry's metrics in the text format, only the
// lines of the test namespace.
func (e *env) scrape() string {
	e.t.Helper()
	rr := httptest.NewRecorder()
	promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{}).ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
	var out []string
	for l := range strings.Lines(rr.Body.String()) {
		if strings.HasPrefix(l, "test_") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}

func (e *env) want(lines ...string) {
	e.t.Helper()
	got := e.scrape()
	for _, l := range lines {
		if !strings.Contains(got+"\n", l+"\n") {
			e.t.Errorf("metrics lack %q; got:\n%s", l, got)
		}
	}
}

func TestSessionLifeIsCounted(t *testing.T) {
	e := newEnv(t)
	e.want("test_sessions_created_total 0", "test_sessions_renewed_total 0",
		`test_session_tokens_rejected_total{reason="forged"} 0`,
		`test_session_tokens_rejected_total{reason="unknown"} 0`)

	c := e.do("/put", nil) // created
	c = e.do("/login", c)  // renewed
	e.do("/get", c)
	e.do("/logout", c) // destroyed
	e.do("/get", c)    // an unknown token now
	e.do("/get", &http.Cookie{Name: sessionkit.DefaultInsecureCookieName, Value: "forged"})
	c2 := e.do("/put", nil)       // created
	e.clock.Add(31 * time.Minute) // past the idle timeout, by the manager's clock only
	e.do("/get", c2)              // expired

	e.want(
		"test_sessions_created_total 2",
		"test_sessions_renewed_total 1",
		`test_sessions_destroyed_total{reason="destroy"} 1`,
		`test_sessions_expired_total{reason="idle timeout"} 1`,
		`test_session_tokens_rejected_total{reason="forged"} 1`,
		`test_session_tokens_rejected_total{reason="unknown"} 1`,
		`test_session_store_duration_seconds_count{op="create",outcome="ok"} 3`,
		`test_session_store_duration_seconds_count{op="load",outcome="ok"} 4`,
		`test_session_store_duration_seconds_count{op="load",outcome="not_found"} 1`,
		`test_session_store_duration_seconds_count{op="delete",outcome="ok"} 1`, // the renewed token
		`test_session_store_duration_seconds_count{op="remove",outcome="ok"} 2`, // the logout, the expiry
		`test_session_store_duration_seconds_count{op="update",outcome="ok"} 1`,
	)

	// The application's own OnEvent got every event, in order.
	var kinds []string
	for _, ev := range e.events {
		kinds = append(kinds, ev.Kind.String())
	}
	if got, want := strings.Join(kinds, " "), "created renewed destroyed rejected rejected created expired"; got != want {
		t.Errorf("chained OnEvent saw %q, want %q", got, want)
	}
}

func TestRevocationIsCounted(t *testing.T) {
	e := newEnv(t)
	e.do("/login", nil)
	e.do("/login", nil)
	n, err := e.m.RevokeUserSessions(context.Background(), "u1")
	if err != nil || n != 2 {
		t.Fatalf("RevokeUserSessions = %d, %v", n, err)
	}
	e.do("/login", nil)
	n, err = e.m.RevokeUserSessions(sessionkit.WithReason(context.Background(), sessionkit.ReasonPasswordChange), "u1")
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserSessions(WithReason) = %d, %v", n, err)
	}
	e.want(
		`test_sessions_destroyed_total{reason="revoked"} 2`,
		`test_sessions_destroyed_total{reason="password change"} 1`,
		`test_session_store_duration_seconds_count{op="list_by_user",outcome="ok"} 2`,
		`test_session_store_duration_seconds_count{op="remove",outcome="ok"} 3`,
	)
}

// TestSweepIsCounted: the expiry of a session that no request presents
// again is counted when Manager.Sweep finds it, and the sweep's store calls
// are timed.
func TestSweepIsCounted(t *testing.T) {
	e := newEnv(t)
	e.do("/login", nil)
	e.do("/login", nil)
	e.clock.Add(31 * time.Minute)
	if n, err := e.m.Sweep(context.Background()); n != 2 || err != nil {
		t.Fatalf("Sweep = %d, %v; want 2", n, err)
	}
	if n, err := e.m.Sweep(context.Background()); n != 0 || err != nil {
		t.Fatalf("second Sweep = %d, %v; want 0", n, err)
	}
	e.want(
		`test_sessions_expired_total{reason="idle timeout"} 2`,
		`test_session_store_duration_seconds_count{op="remove",outcome="ok"} 2`,
	)
}

// TestDestroyReasonsAreBounded: the reasons sessionkit names label the
// destroyed counter as they are, and any other reason an application gives
// counts as "other".
func TestDestroyReasonsAreBounded(t *testing.T) {
	c := sessionprom.New(sessionprom.Options{})
	for _, reason := range []string{sessionkit.ReasonLogout, sessionkit.ReasonPasswordChange, sessionkit.ReasonPasswordChange,
		sessionkit.ReasonSessionLimit, "user 42 clicked", "admin: fraud", ""} {
		c.OnEvent(context.Background(), sessionkit.Event{Kind: sessionkit.EventDestroyed, Reason: reason})
	}
	want := `
# HELP sessionkit_sessions_destroyed_total Sessions ended by Destroy or a revocation, by reason.
# TYPE sessionkit_sessions_destroyed_total counter
sessionkit_sessions_destroyed_total{reason="logout"} 1
sessionkit_sessions_destroyed_total{reason="other"} 3
sessionkit_sessions_destroyed_total{reason="password change"} 2
sessionkit_sessions_destroyed_total{reason="session limit"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "sessionkit_sessions_destroyed_total"); err != nil {
		t.Error(err)
	}
}

func TestChainNil(t *testing.T) {
	c := sessionprom.New(sessionprom.Options{})
	c.Chain(nil)(context.Background(), sessionkit.Event{Kind: sessionkit.EventCreated})
	want := `
# HELP sessionkit_sessions_created_total Sessions created.
# TYPE sessionkit_sessions_created_total counter
sessionkit_sessions_created_total 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "sessionkit_sessions_created_total"); err != nil {
		t.Error(err)
	}
}

func TestLint(t *testing.T) {
	c := sessionprom.New(sessionprom.Options{ConstLabels: prometheus.Labels{"app": "x"}})
	c.OnEvent(context.Background(), sessionkit.Event{Kind: sessionkit.EventDestroyed, Reason: "destroy"})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(c); n != 2+2+1+int(storewrap.NumOps*storewrap.NumOutcomes) {
		t.Errorf("collected %d series", n)
	}
}

func TestWrapStoreKeepsCapabilities(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	w := sessionprom.New(sessionprom.Options{}).WrapStore(st)
	_, idx := w.(sessionkit.UserIndex)
	_, it := w.(sessionkit.Iterator)
	_, li := w.(sessionkit.SessionLimiter)
	_, cl := w.(io.Closer)
	_, rm := w.(sessionkit.Remover)
	if !idx || !it || !li || !cl || !rm {
		t.Errorf("wrapped memstore: UserIndex %v, Iterator %v, SessionLimiter %v, Close %v, Remover %v", idx, it, li, cl, rm)
	}
	bare := sessionprom.New(sessionprom.Options{}).WrapStore(struct{ sessionkit.Store }{st})
	_, idx = bare.(sessionkit.UserIndex)
	_, it = bare.(sessionkit.Iterator)
	_, li = bare.(sessionkit.SessionLimiter)
	_, cl = bare.(io.Closer)
	_, rm = bare.(sessionkit.Remover)
	if idx || it || li || cl || rm {
		t.Errorf("wrapped plain Store: UserIndex %v, Iterator %v, SessionLimiter %v, Close %v, Remover %v", idx, it, li, cl, rm)
	}
}
