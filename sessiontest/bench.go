package sessiontest

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/sessionkit/sessionkit"
)

// BenchmarkMiddleware measures a full round trip through the middleware on
// store, for a store's own benchmarks: Create is a request that starts a
// session, Read one that loads it without writing, Write one that loads it
// and changes one key. The Parallel variants run from GOMAXPROCS
// goroutines, each with its own session.
func BenchmarkMiddleware(b *testing.B, store sessionkit.Store) {
	m, err := sessionkit.New(sessionkit.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		switch r.URL.Path {
		case "/write":
			if err := s.Put("n", n.Add(1)); err != nil {
				b.Error(err)
			}
		case "/read":
			var v int64
			if _, err := s.Get("n", &v); err != nil {
				b.Error(err)
			}
		}
	}))
	do := func(path string, cookie *http.Cookie) *http.Cookie {
		r := httptest.NewRequest("GET", "https://example.com"+path, nil)
		if cookie != nil {
			r.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: status %d", path, w.Code)
		}
		for _, c := range w.Result().Cookies() {
			return c
		}
		return cookie
	}
	newSession := func() *http.Cookie {
		c := do("/write", nil)
		if c == nil {
			b.Fatal("no session cookie")
		}
		return c
	}

	b.Run("Create", func(b *testing.B) {
		for b.Loop() {
			do("/write", nil)
		}
	})
	for _, path := range []string{"/read", "/write"} {
		name := map[string]string{"/read": "Read", "/write": "Write"}[path]
		b.Run(name, func(b *testing.B) {
			c := newSession()
			for b.Loop() {
				c = do(path, c)
			}
		})
		b.Run(name+"Parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				c := newSession()
				for pb.Next() {
					c = do(path, c)
				}
			})
		})
	}
}
