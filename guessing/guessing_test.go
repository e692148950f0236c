package guessing_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/guessing"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/storewrap"
)

// loads counts the Load calls of a store.
type loads struct{ n atomic.Int64 }

func (l *loads) Start(ctx context.Context, op storewrap.Op) context.Context {
	if op == storewrap.OpLoad {
		l.n.Add(1)
	}
	return ctx
}
func (l *loads) Done(context.Context, storewrap.Call) {}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// server is an app behind a Detector: GET /login stores a user, GET /me
// answers the user ID.
type server struct {
	h      http.Handler
	loads  *loads
	mu     sync.Mutex
	alerts []guessing.Alert
}

func newServer(t *testing.T, opts guessing.Options) (*server, *guessing.Detector) {
	t.Helper()
	srv := &server{loads: new(loads)}
	opts.OnAlert = func(_ context.Context, a guessing.Alert) {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		srv.alerts = append(srv.alerts, a)
	}
	d := guessing.New(opts)
	store := memstore.New(memstore.Options{})
	t.Cleanup(func() { store.Close() })
	m, err := sessionkit.New(sessionkit.Config{
		Store: storewrap.Wrap(store, srv.loads), OnEvent: d.OnEvent, Now: opts.Now,
		Logger:  slog.New(slog.DiscardHandler),
		Secrets: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Session(r.Context()).SetUserID("alice"); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Session(r.Context()).Destroy(); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(m.Session(r.Context()).UserID()))
	})
	srv.h = d.Middleware(m.Middleware(mux))
	return srv, d
}

func (s *server) get(path, remote, cookie string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = remote
	if cookie != "" {
		r.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

func (s *server) login(t *testing.T, remote string) string {
	t.Helper()
	w := s.get("/login", remote, "")
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionkit.DefaultCookieName {
			return c.Value
		}
	}
	t.Fatalf("login from %s set no session cookie", remote)
	return ""
}

func (s *server) alertList() []guessing.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]guessing.Alert(nil), s.alerts...)
}

// TestForgedCookiesThrottled is checklist item 54: 1,000 random cookies from
// one client raise one alert and get that client 429 with Retry-After,
// without store calls, while another client's session keeps working.
func TestForgedCookiesThrottled(t *testing.T) {
	s, d := newServer(t, guessing.Options{})
	victim := s.login(t, "198.51.100.7:4000")
	const attacker = "192.0.2.1:5555"
	var ok, limited int
	for i := range 1000 {
		w := s.get("/me", attacker, rand.Text()+rand.Text())
		switch w.Code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
			// The block lasts 900 s; allow for a slow machine.
			if got, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || got < 890 || got > 900 {
				t.Fatalf("request %d: Retry-After %q; want about %v", i, w.Header().Get("Retry-After"), guessing.DefaultBlock)
			}
		default:
			t.Fatalf("request %d: status %d", i, w.Code)
		}
	}
	if ok != guessing.DefaultThreshold+1 || limited != 1000-ok {
		t.Errorf("%d answered, %d limited; want %d answered, the rest limited", ok, limited, guessing.DefaultThreshold+1)
	}
	alerts := s.alertList()
	if len(alerts) != 1 {
		t.Fatalf("%d alerts; want 1", len(alerts))
	}
	if a := alerts[0]; a.Client != "192.0.2.1/32" || a.Rejected[sessionkit.RejectedForged] != guessing.DefaultThreshold+1 || a.Until.IsZero() {
		t.Errorf("alert = %+v; want client 192.0.2.1/32, %d forged, a block end", a, guessing.DefaultThreshold+1)
	}
	if !d.Blocked("192.0.2.1/32") {
		t.Error("Blocked(attacker) = false")
	}
	// A blocked client is turned away before the manager loads anything,
	// even with a valid cookie.
	before := s.loads.n.Load()
	if w := s.get("/me", attacker, victim); w.Code != http.StatusTooManyRequests {
		t.Errorf("blocked client with a valid cookie: status %d; want 429", w.Code)
	}
	if n := s.loads.n.Load() - before; n != 0 {
		t.Errorf("a blocked request made %d store loads; want 0", n)
	}
	if w := s.get("/me", "198.51.100.7:4000", victim); w.Code != http.StatusOK || w.Body.String() != "alice" {
		t.Errorf("other client: %d %q; want 200 alice", w.Code, w.Body)
	}
}

// TestUnknownTokensCounted: well-signed tokens that name no session count
// as well as forged ones, and the whole /64 of an IPv6 client is blocked.
func TestUnknownTokensCounted(t *testing.T) {
	s, _ := newServer(t, guessing.Options{Threshold: 3})
	const home = "[2001:db8:1:2::9]:443"
	for range 4 {
		cookie := s.login(t, home)
		if w := s.get("/me", home, cookie); w.Body.String() != "alice" {
			t.Fatalf("fresh session: %q", w.Body)
		}
		// The next request of a destroyed session carries an unknown token.
		s.destroy(t, home, cookie)
		if w := s.get("/me", home, cookie); w.Code != http.StatusOK || w.Body.String() != "" {
			t.Fatalf("dead session: %d %q; want 200 anonymous", w.Code, w.Body)
		}
	}
	if w := s.get("/me", "[2001:db8:1:2:ffff::1]:80", ""); w.Code != http.StatusTooManyRequests {
		t.Errorf("same /64: status %d; want 429", w.Code)
	}
	if w := s.get("/me", "[2001:db8:1:3::1]:80", ""); w.Code != http.StatusOK {
		t.Errorf("next /64: status %d; want 200", w.Code)
	}
	alerts := s.alertList()
	if len(alerts) != 1 || alerts[0].Client != "2001:db8:1:2::/64" || alerts[0].Rejected[sessionkit.RejectedUnknown] != 4 {
		t.Errorf("alerts = %+v; want one for 2001:db8:1:2::/64 with 4 unknown", alerts)
	}
}

// destroy ends a session as a logout does.
func (s *server) destroy(t *testing.T, remote, cookie string) {
	t.Helper()
	if w := s.get("/logout", remote, cookie); w.Code != http.StatusOK {
		t.Fatalf("logout: status %d", w.Code)
	}
}
