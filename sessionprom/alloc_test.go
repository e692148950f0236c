package sessionprom_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessionprom"
)

// discard is a ResponseWriter that keeps headers and drops the body.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// readPaths are the set-ups of the middleware's read path that are
// compared: without the collector, with it but never registered, and with
// it registered.
var readPaths = []struct {
	name            string
	collect, regist bool
}{
	{"Bare", false, false},
	{"Collector", true, false},
	{"Registered", true, true},
}

// readPath returns a request carrying the cookie of an existing session on
// a memstore, and a function serving it through the middleware to a handler
// that reads a value.
func readPath(tb testing.TB, collect, register bool) func() {
	tb.Helper()
	st := memstore.New(memstore.Options{})
	tb.Cleanup(func() { st.Close() })
	cfg := sessionkit.Config{Store: st}
	if collect {
		c := sessionprom.New(sessionprom.Options{})
		if register {
			prometheus.NewRegistry().MustRegister(c)
		}
		cfg.Store, cfg.OnEvent = c.WrapStore(st), c.Chain(nil)
	}
	m, err := sessionkit.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	rr := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Session(r.Context()).Put("user", "gopher")
	})).ServeHTTP(rr, httptest.NewRequest("GET", "/", nil))
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(rr.Result().Cookies()[0])

	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := sessionkit.Get[string](m.Session(r.Context()), "user")
		w.Write([]byte(user))
	}))
	w := &discard{h: make(http.Header)}
	return func() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

func TestReadPathAllocations(t *testing.T) {
	var bare float64
	for _, p := range readPaths {
		n := testing.AllocsPerRun(1000, readPath(t, p.collect, p.regist))
		t.Logf("%s: %v allocations per request", p.name, n)
		if p.name == "Bare" {
			bare = n
		} else if n != bare {
			t.Errorf("%s: %v allocations per request, %v without the collector", p.name, n, bare)
		}
	}
}

func BenchmarkReadPath(b *testing.B) {
	for _, p := range readPaths {
		b.Run(p.name, func(b *testing.B) {
			serve := readPath(b, p.collect, p.regist)
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}
