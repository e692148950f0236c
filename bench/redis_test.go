package bench_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/bench/internal/apps"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redisstore"
)

// BenchmarkRedisRoundTrip runs one request at a time through each
// Redis-backed stack against a real redis-server (started here; skipped
// without one): the floor (the same Redis commands with no session logic),
// sessionkit + redisstore and scs + goredisstore. It logs Redis's own time
// per command (INFO commandstats) for each case, which with -cpuprofile
// tells the server's share from the client's:
//
//	go test -run '^$' -bench RedisRoundTrip -benchmem -count 6 -v
func BenchmarkRedisRoundTrip(b *testing.B) {
	rdb, _, stacks := startRedisStacks(b, redis.Options{})
	for _, im := range stacks {
		for _, path := range []string{"/read", "/write"} {
			b.Run("impl="+im.name+"/case="+strings.TrimPrefix(path, "/"), func(b *testing.B) {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Cookie", sessionCookie(b, im.h))
				w := &discard{h: make(http.Header)}
				if err := rdb.ConfigResetStat(context.Background()).Err(); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					r := *req
					im.h.ServeHTTP(w, &r)
					if sc := w.h["Set-Cookie"]; len(sc) > 0 {
						req.Header["Cookie"][0], _, _ = strings.Cut(sc[0], ";")
					}
				}
				b.StopTimer()
				logCommandStats(b, rdb)
			})
		}
	}
}

// logCommandStats logs Redis's calls and microseconds per call of every
// command since the last CONFIG RESETSTAT.
func logCommandStats(b *testing.B, rdb *redis.Client) {
	info, err := rdb.InfoMap(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	for k, v := range info["Commandstats"] {
		if k == "cmdstat_config" || k == "cmdstat_info" {
			continue
		}
		calls, _, _ := strings.Cut(v, ",usec=")
		_, perCall, _ := strings.Cut(v, "usec_per_call=")
		perCall, _, _ = strings.Cut(perCall, ",")
		lines = append(lines, strings.TrimPrefix(k, "cmdstat_")+" "+strings.TrimPrefix(calls, "calls=")+" calls "+perCall+" µs/call")
	}
	b.Logf("redis: %s", strings.Join(lines, "; "))
}

// TestRedisRoundTrip checks that every Redis-backed stack of the load
// benchmark, the floor included, serves the application against a real
// redis-server.
func TestRedisRoundTrip(t *testing.T) {
	_, _, stacks := startRedisStacks(t, redis.Options{})
	for _, s := range stacks {
		t.Run(s.name, func(t *testing.T) { checkApp(t, s.h, true, s.middleware) })
	}
}

// redisStack is one Redis-backed stack of the load benchmark.
type redisStack struct {
	name       string
	h          http.Handler
	middleware bool // behind a session middleware, which also serves /peek
}

// startRedisStacks starts a redis-server, connects a client to it with
// opts (Addr set here) and returns the client, a redisstore on it and the
// Redis-backed stacks of the load benchmark on that client, floor first and
// sessionkit second.
func startRedisStacks(tb testing.TB, opts redis.Options) (*redis.Client, *redisstore.Store, []redisStack) {
	tb.Helper()
	opts.Addr = testserver.StartRedis(tb).Addr
	rdb := redis.NewClient(&opts)
	tb.Cleanup(func() { rdb.Close() })
	st, err := redisstore.New(rdb, redisstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	sk, err := apps.NewSessionkit(st, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return rdb, st, []redisStack{
		{"floor", apps.Floor{RDB: rdb}, false},
		{"sessionkit-redis", apps.Handler(sk), true},
		{"redisstore-alone", apps.StoreOnly{Store: st}, false},
		{"scs-redis", apps.Handler(apps.NewSCS(goredisstore.New(rdb))), true},
	}
}
