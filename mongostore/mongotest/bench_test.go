package mongotest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
)

// discard is a ResponseWriter that keeps headers and drops the body.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkMiddleware measures one request through the middleware with
// mongostore on FerretDB (embedded, SQLite back end, over loopback TCP): a
// read-only request (one find), a modifying request (one find and one
// update) and a request without a cookie (no store call). The numbers
// measure FerretDB as much as the store; MongoDB would give others.
func BenchmarkMiddleware(b *testing.B) {
	srv := ferretdbtest.Start(b)
	st, _ := newStore(b, srv, mongostore.Options{})
	m, err := sessionkit.New(sessionkit.Config{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	read := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _, _ := sessionkit.Get[string](m.Session(r.Context()), "user")
		w.Write([]byte(user))
	}))
	write := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		n, _, _ := sessionkit.Get[int](s, "n")
		s.Put("n", n+1)
		w.Write([]byte(strconv.Itoa(n)))
	}))

	// Obtain a cookie.
	rr := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Session(r.Context()).Put("user", "gopher")
	})).ServeHTTP(rr, httptest.NewRequest("GET", "/", nil))
	cookies := rr.Result().Cookies()
	if len(cookies) == 0 {
		b.Fatal("no session cookie")
	}
	cookie := cookies[0]

	run := func(b *testing.B, h http.Handler, withCookie bool) {
		req := httptest.NewRequest("GET", "/", nil)
		if withCookie {
			req.AddCookie(cookie)
		}
		w := &discard{h: make(http.Header)}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	}
	b.Run("ReadOnly", func(b *testing.B) { run(b, read, true) })
	b.Run("Modify", func(b *testing.B) { run(b, write, true) })
	b.Run("NoCookie", func(b *testing.B) { run(b, read, false) })
}
