package redistest

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redisstore"
)

// discard is a ResponseWriter that keeps headers and drops the body, so the
// benchmarks measure the middleware rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkMiddleware measures one request through the sessionkit
// middleware with a redisstore on a real standalone redis-server, next to
// its floor: a plain handler that sends the same number of Redis commands
// with no session logic (one GET for a read-only request, a GET and a SET
// for a modifying one).
func BenchmarkMiddleware(b *testing.B) {
	r := testserver.StartRedis(b)
	c := redis.NewClient(&redis.Options{Addr: r.Addr, ContextTimeoutEnabled: true})
	defer c.Close()
	st, err := redisstore.New(c, redisstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
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

	// Floors: the same Redis round trips without sessions.
	if err := c.Set(b.Context(), "floor", `{"user":"gopher","n":1}`, 0).Err(); err != nil {
		b.Fatal(err)
	}
	floorRead := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := c.Get(r.Context(), "floor").Result()
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(v))
	})
	floorWrite := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := c.Get(r.Context(), "floor").Result()
		if err == nil {
			err = c.Set(r.Context(), "floor", v, 0).Err()
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(v))
	})

	// Obtain a cookie for a session with a value in it.
	rr := httptest.NewRecorder()
	m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Session(r.Context()).Put("user", "gopher")
	})).ServeHTTP(rr, httptest.NewRequest("GET", "/", nil))
	cookies := rr.Result().Cookies()
	if len(cookies) == 0 {
		b.Fatal("no session cookie")
	}
	cookie := cookies[0]

	run := func(b *testing.B, h http.Handler) {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		w := &discard{h: make(http.Header)}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	}
	runParallel := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(cookie)
			w := &discard{h: make(http.Header)}
			for pb.Next() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
	// paired alternates requests to the floor and to the middleware and
	// times each one, so that both see the same load on a shared machine,
	// and reports both rates and their ratio (session/floor, higher is
	// better; 1 means no overhead), from the medians and from the means.
	paired := func(b *testing.B, floor, session http.Handler) {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		w := &discard{h: make(http.Header)}
		var fd, sd []time.Duration
		for b.Loop() {
			clear(w.h)
			start := time.Now()
			floor.ServeHTTP(w, req)
			mid := time.Now()
			clear(w.h)
			session.ServeHTTP(w, req)
			end := time.Now()
			fd = append(fd, mid.Sub(start))
			sd = append(sd, end.Sub(mid))
		}
		fm, fs := stats(fd)
		sm, ss := stats(sd)
		b.ReportMetric(float64(time.Second)/float64(fs), "floor-ops/s")
		b.ReportMetric(float64(time.Second)/float64(ss), "session-ops/s")
		b.ReportMetric(float64(fm)/float64(sm), "ratio-median")
		b.ReportMetric(float64(fs)/float64(ss), "ratio-mean")
	}
	b.Run("Paired/ReadOnly", func(b *testing.B) { paired(b, floorRead, read) })
	b.Run("Paired/Modify", func(b *testing.B) { paired(b, floorWrite, write) })
	b.Run("ReadOnly/Floor", func(b *testing.B) { run(b, floorRead) })
	b.Run("ReadOnly/Session", func(b *testing.B) { run(b, read) })
	b.Run("Modify/Floor", func(b *testing.B) { run(b, floorWrite) })
	b.Run("Modify/Session", func(b *testing.B) { run(b, write) })
	b.Run("ReadOnlyParallel/Floor", func(b *testing.B) { runParallel(b, floorRead) })
	b.Run("ReadOnlyParallel/Session", func(b *testing.B) { runParallel(b, read) })
	b.Run("ModifyParallel/Floor", func(b *testing.B) { runParallel(b, floorWrite) })
	b.Run("ModifyParallel/Session", func(b *testing.B) { runParallel(b, write) })
}

// stats returns the median and the mean of d.
func stats(d []time.Duration) (median, mean time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	slices.Sort(d)
	return d[len(d)/2], sum / time.Duration(len(d))
}
