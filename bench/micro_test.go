package bench_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/sessionkit/sessionkit/bench/internal/apps"
	"github.com/sessionkit/sessionkit/cookiestore"
	skmem "github.com/sessionkit/sessionkit/memstore"
)

// discard is a ResponseWriter that keeps headers and drops the body, as in
// sessionkit's own BenchmarkMiddleware.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// impl is one library under test. build returns its application; what it
// starts is stopped by tb.Cleanup.
type impl struct {
	name  string
	build func(tb testing.TB) http.Handler
}

var (
	testKey1 = bytes.Repeat([]byte{1}, 32)
	testKey2 = bytes.Repeat([]byte{2}, 32)
)

var impls = []impl{
	{"baseline", func(testing.TB) http.Handler { return apps.Handler(apps.None{}) }},
	{"sessionkit-mem", func(tb testing.TB) http.Handler {
		st := skmem.New(skmem.Options{})
		tb.Cleanup(func() { st.Close() })
		l, err := apps.NewSessionkit(st, nil)
		if err != nil {
			tb.Fatal(err)
		}
		return apps.Handler(l)
	}},
	{"sessionkit-cookie", func(tb testing.TB) http.Handler {
		cs, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{testKey1}, CookieName: apps.CookieName})
		if err != nil {
			tb.Fatal(err)
		}
		l, err := apps.NewSessionkit(nil, cs)
		if err != nil {
			tb.Fatal(err)
		}
		return apps.Handler(l)
	}},
	{"scs-mem", func(testing.TB) http.Handler {
		// scs's memstore cleans up every minute in a goroutine it never
		// stops; a test binary can live with that.
		return apps.Handler(apps.NewSCS(memstore.New()))
	}},
	{"gorilla-cookie", func(testing.TB) http.Handler {
		return apps.Handler(apps.NewGorilla(testKey1, testKey2))
	}},
}

// benchCase is one kind of request.
type benchCase struct {
	name   string
	path   string
	cookie bool // send the session cookie obtained from /read
}

var cases = []benchCase{
	{"read", "/read", true},      // read-only: the session holds "user"
	{"modify", "/write", true},   // modifying: increments "n"
	{"nocookie", "/peek", false}, // no cookie: reads, finds nothing, stores nothing
}

// sessionCookie makes the first request of a visitor (GET /read without a
// cookie) and returns the "name=value" of the cookie it got, or a cookie of
// the same length for the baseline, which sets none.
func sessionCookie(tb testing.TB, h http.Handler) string {
	tb.Helper()
	w := &discard{h: make(http.Header)}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/read", nil))
	if sc := w.h["Set-Cookie"]; len(sc) > 0 {
		v, _, _ := strings.Cut(sc[0], ";")
		return v
	}
	return apps.CookieName + "=" + strings.Repeat("x", 43)
}

// BenchmarkRoundTrip runs one request through each library's middleware and
// the application's handler. Compare the libraries with
//
//	go test -run '^$' -bench RoundTrip -benchmem -count 10 > micro.txt
//	benchstat -col /impl micro.txt
//
// Every iteration serves a fresh shallow copy of the request, as net/http
// makes a new Request per request, and then does the client's cookie-jar
// step for every library alike: a Set-Cookie in the response replaces the
// Cookie header of the next request.
func BenchmarkRoundTrip(b *testing.B) {
	for _, im := range impls {
		for _, c := range cases {
			b.Run("impl="+im.name+"/case="+c.name, func(b *testing.B) {
				h := im.build(b)
				req := httptest.NewRequest("GET", c.path, nil)
				if c.cookie {
					req.Header.Set("Cookie", sessionCookie(b, h))
				}
				w := &discard{h: make(http.Header)}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					r := *req
					h.ServeHTTP(w, &r)
					if sc := w.h["Set-Cookie"]; c.cookie && len(sc) > 0 {
						req.Header["Cookie"][0], _, _ = strings.Cut(sc[0], ";")
					}
				}
			})
		}
	}
}

// TestRoundTrip checks, quickly, that every library's application answers
// each case as the benchmark expects, so the benchmark measures real work.
func TestRoundTrip(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			checkApp(t, im.build(t), im.name != "baseline", true)
		})
	}
}

// checkApp checks that h serves the benchmark application: /write counts
// (when counts is set; the baseline stores nothing), /read greets the
// stored user and, when peek is set, /peek without a cookie sets none.
func checkApp(t *testing.T, h http.Handler, counts, peek bool) {
	t.Helper()
	cookie := sessionCookie(t, h)
	for i, want := range []string{"1", "2"} {
		res := get(t, h, "/write", cookie)
		if res.code != 200 || counts && res.body != want {
			t.Errorf("/write #%d = %d %q, want %q", i, res.code, res.body, want)
		}
		if sc := res.setCookie; sc != "" {
			cookie = sc
		}
	}
	if got := get(t, h, "/read", cookie); got.body != "hello, gopher" || got.code != 200 {
		t.Errorf("/read = %d %q", got.code, got.body)
	}
	if !peek {
		return
	}
	if got := get(t, h, "/peek", ""); got.body != "hello, guest" || got.setCookie != "" {
		t.Errorf("/peek without cookie = %q, Set-Cookie %q", got.body, got.setCookie)
	}
}

type response struct {
	code      int
	body      string
	setCookie string // "name=value" of the first Set-Cookie
}

func get(t *testing.T, h http.Handler, path, cookie string) response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	res := response{code: rr.Code, body: rr.Body.String()}
	if sc := rr.Header().Values("Set-Cookie"); len(sc) > 0 {
		res.setCookie, _, _ = strings.Cut(sc[0], ";")
	}
	return res
}
