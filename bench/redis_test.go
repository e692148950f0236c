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
	srv := testserver.StartRedis(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer rdb.Close()
	st, err := redisstore.New(rdb, redisstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sk, err := apps.NewSessionkit(st, nil)
	if err != nil {
		b.Fatal(err)
	}
	impls := []struct {
		name string
		h    http.Handler
	}{
		{"floor", apps.Floor{RDB: rdb}},
		{"sessionkit-redis", apps.Handler(sk)},
		{"scs-redis", apps.Handler(apps.NewSCS(goredisstore.New(rdb)))},
	}
	for _, im := range impls {
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
	srv := testserver.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	st, err := redisstore.New(rdb, redisstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sk, err := apps.NewSessionkit(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("floor", func(t *testing.T) { checkApp(t, apps.Floor{RDB: rdb}, true, false) })
	t.Run("sessionkit-redis", func(t *testing.T) { checkApp(t, apps.Handler(sk), true, true) })
	t.Run("redisstore-alone", func(t *testing.T) { checkApp(t, apps.StoreOnly{Store: st}, true, false) })
	t.Run("scs-redis", func(t *testing.T) { checkApp(t, apps.Handler(apps.NewSCS(goredisstore.New(rdb))), true, true) })
}
