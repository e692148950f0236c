package sessiontest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// harness describes how to build managers for the middleware tests.
type harness struct {
	client       bool
	config       func(t *testing.T) sessionkit.Config
	clientConfig func(t *testing.T, now func() time.Time) sessionkit.Config
	dump         func(t *testing.T) []byte
	userIndex    bool // the server store implements sessionkit.UserIndex
}

// Clock is a fake clock for tests. It starts at the real time, so that
// records written under it are live for the stores, and moves only when told.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock set to the current time.
func NewClock() *Clock { return &Clock{t: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// CountingStore wraps a Store and counts the calls it receives.
type CountingStore struct {
	sessionkit.Store
	Loads, Creates, Updates, Touches, Deletes atomic.Int64
}

// Load implements sessionkit.Store.
func (s *CountingStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	s.Loads.Add(1)
	return s.Store.Load(ctx, id)
}

// Create implements sessionkit.Store.
func (s *CountingStore) Create(ctx context.Context, rec *sessionkit.Record) error {
	s.Creates.Add(1)
	return s.Store.Create(ctx, rec)
}

// Update implements sessionkit.Store.
func (s *CountingStore) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	s.Updates.Add(1)
	return s.Store.Update(ctx, id, d)
}

// Touch implements sessionkit.Store.
func (s *CountingStore) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	s.Touches.Add(1)
	return s.Store.Touch(ctx, id, lastSeen, expiresAt)
}

// Delete implements sessionkit.Store.
func (s *CountingStore) Delete(ctx context.Context, id string) error {
	s.Deletes.Add(1)
	return s.Store.Delete(ctx, id)
}

// Calls returns the total number of calls.
func (s *CountingStore) Calls() int64 {
	return s.Loads.Load() + s.Creates.Load() + s.Updates.Load() + s.Touches.Load() + s.Deletes.Load()
}

// Writes returns the number of calls that write.
func (s *CountingStore) Writes() int64 {
	return s.Creates.Load() + s.Updates.Load() + s.Touches.Load() + s.Deletes.Load()
}

// indexedCountingStore keeps the UserIndex capability visible through the
// wrapper.
type indexedCountingStore struct {
	*CountingStore
	sessionkit.UserIndex
}

// env is one manager under test.
type env struct {
	t      *testing.T
	m      *sessionkit.Manager
	clock  *Clock
	store  *CountingStore // nil for client stores
	raw    sessionkit.Store
	client bool
	name   string
}

func (h harness) env(t *testing.T, tweak func(*sessionkit.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: NewClock(), client: h.client}
	var cfg sessionkit.Config
	if h.client {
		cfg = h.clientConfig(t, e.clock.Now)
	} else {
		cfg = h.config(t)
		e.raw = cfg.Store
		e.store = &CountingStore{Store: cfg.Store}
		cfg.Store = e.store
		if idx, ok := e.raw.(sessionkit.UserIndex); ok {
			cfg.Store = indexedCountingStore{e.store, idx}
		}
	}
	cfg.Now = e.clock.Now
	if tweak != nil {
		tweak(&cfg)
	}
	m, err := sessionkit.New(cfg)
	if err != nil {
		t.Fatalf("sessionkit.New: %v", err)
	}
	e.m = m
	e.name = sessionkit.DefaultCookieName
	if cfg.Cookie.Name != "" {
		e.name = cfg.Cookie.Name
	}
	return e
}

// do runs one request carrying cookie (if not empty) through the
// middleware, with fn as the handler.
func (e *env) do(cookie string, fn func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session)) *http.Response {
	e.t.Helper()
	if cookie == "" {
		return e.doCookies(fn)
	}
	return e.doCookies(fn, cookie)
}

// lateWrite runs a request on cookie that loads the session and then waits
// while parallel runs in a second request on the same cookie; only then
// does the first put a value. It returns the first request's response and
// the second's.
func (e *env) lateWrite(cookie string, parallel func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session)) (late, other *http.Response) {
	loaded := make(chan struct{})
	proceed := make(chan struct{})
	done := make(chan *http.Response)
	go func() {
		done <- e.do(cookie, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
			close(loaded)
			<-proceed
			_ = s.Put("cart", "late write")
		})
	}()
	<-loaded
	other = e.do(cookie, parallel)
	close(proceed)
	return <-done, other
}

// doCookies runs one request carrying a cookie of the session's name for
// each of values, in order, in one Cookie header.
func (e *env) doCookies(fn func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session), values ...string) *http.Response {
	e.t.Helper()
	return serve(e.m, e.name, fn, values...)
}

// serve runs one request through m's middleware, with fn as the handler,
// carrying a cookie named name for each of values, in order, in one Cookie
// header.
func serve(m *sessionkit.Manager, name string, fn func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session), values ...string) *http.Response {
	req := httptest.NewRequest("GET", "https://example.test/", nil)
	req.Header.Set("User-Agent", "sessiontest-agent")
	var pairs []string
	for _, v := range values {
		pairs = append(pairs, name+"="+v)
	}
	if len(pairs) > 0 {
		// Set the header by hand: AddCookie would sanitize hostile values.
		req.Header.Set("Cookie", strings.Join(pairs, "; "))
	}
	rr := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fn(w, r, m.Session(r.Context()))
	})).ServeHTTP(rr, req)
	return rr.Result()
}

// put stores key=value in the session named by cookie and returns the
// cookie to use next (the old one if none was set).
func (e *env) put(cookie, key string, value any) string {
	e.t.Helper()
	res := e.do(cookie, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if err := s.Put(key, value); err != nil {
			e.t.Errorf("Put(%q): %v", key, err)
		}
	})
	if res.StatusCode != http.StatusOK {
		e.t.Fatalf("put: status %d", res.StatusCode)
	}
	if c := e.cookie(res); c != nil {
		return c.Value
	}
	return cookie
}

// get returns the string stored under key, and whether it was there.
func (e *env) get(cookie, key string) (string, bool) {
	e.t.Helper()
	var v string
	var ok bool
	e.do(cookie, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		var err error
		v, ok, err = sessionkit.Get[string](s, key)
		if err != nil {
			e.t.Errorf("Get(%q): %v", key, err)
		}
	})
	return v, ok
}

// next returns the cookie to send after res: the one res set, or cookie.
func (e *env) next(cookie string, res *http.Response) string {
	if c := e.cookie(res); c != nil {
		return c.Value
	}
	return cookie
}

// has reports whether the session named by cookie holds key.
func (e *env) has(cookie, key string) bool {
	var ok bool
	e.do(cookie, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) { ok = s.Has(key) })
	return ok
}

// cookie returns the session cookie the response set, or nil.
func (e *env) cookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == e.name {
			return c
		}
	}
	return nil
}

func noop(http.ResponseWriter, *http.Request, *sessionkit.Session) {}
