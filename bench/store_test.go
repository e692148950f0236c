//go:build unix

package bench_test

import (
	"context"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/bench/internal/apps"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// BenchmarkRedisStores runs the store calls of the benchmark application
// one at a time, without HTTP or the manager, against a real redis-server
// (started here; skipped without one): Load of a session as the
// application writes it (/read), and Load then Update of one value
// (/write), on redisstore (go-redis) and rueidisstore, each on its client
// with default options. With -benchmem it gives the store's share of the
// allocations per request, and cpu-ns/op is the CPU time of this process
// (user and system) per call, which the machine's load moves much less
// than ns/op:
//
//	go test -run '^$' -bench RedisStores -benchmem -count 6
func BenchmarkRedisStores(b *testing.B) {
	addr := testserver.StartRedis(b).Addr
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() { rdb.Close() })
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rc.Close)
	rs, err := redisstore.New(rdb, redisstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	us, err := rueidisstore.New(rc, rueidisstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, st := range []struct {
		name  string
		store sessionkit.Store
	}{{"redisstore", rs}, {"rueidisstore", us}} {
		ctx := context.Background()
		now := time.Now()
		req, _ := http.NewRequest("GET", "/read", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header.Set("User-Agent", "wrk")
		rec := &sessionkit.Record{
			ID: "bench-" + st.name, Values: map[string][]byte{"user": []byte(`"` + apps.User + `"`)},
			Meta: sessionkit.DefaultMetadata(req), CreatedAt: now, LastSeen: now,
			ExpiresAt: now.Add(apps.Lifetime), AbsoluteExpiry: now.Add(24 * time.Hour),
		}
		if err := st.store.Create(ctx, rec); err != nil {
			b.Fatal(err)
		}
		b.Run("store="+st.name+"/case=read", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				if got, err := st.store.Load(ctx, rec.ID); got == nil || err != nil {
					b.Fatalf("Load = %v, %v", got, err)
				}
			}
		})
		b.Run("store="+st.name+"/case=write", func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b)()
			n := 0
			for b.Loop() {
				got, err := st.store.Load(ctx, rec.ID)
				if got == nil || err != nil {
					b.Fatalf("Load = %v, %v", got, err)
				}
				n++
				t := time.Now()
				d := sessionkit.Delta{Set: map[string][]byte{"n": strconv.AppendInt(nil, int64(n), 10)}, LastSeen: t, ExpiresAt: t.Add(apps.Lifetime)}
				if err := st.store.Update(ctx, rec.ID, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU starts measuring the CPU time of the process; the function it
// returns reports it per iteration as cpu-ns/op.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
