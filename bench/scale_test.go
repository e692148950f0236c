package bench_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/bench/internal/apps"
	"github.com/sessionkit/sessionkit/memstore"
)

// heapAlloc returns the live heap after two collections.
func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// payload returns the bytes of data a record carries: its ID, user ID,
// value keys and values, and metadata. The rest of its memory is overhead.
func payload(rec *sessionkit.Record) int {
	n := len(rec.ID) + len(rec.UserID)
	for k, v := range rec.Values {
		n += len(k) + len(v)
	}
	for k, v := range rec.Meta {
		n += len(k) + len(v)
	}
	return n
}

// BenchmarkMemstoreMemory measures what a session costs in memstore: n
// visitors each make their first request (GET /read without a cookie, which
// stores "user"), through the manager, as in the load benchmark. It reports
// the live-heap growth per session (runtime.MemStats.HeapAlloc after GC)
// and that minus the session's own data (overhead). Run it once per size:
//
//	go test -run '^$' -bench MemstoreMemory -benchtime 1x
func BenchmarkMemstoreMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run("sessions="+strconv.Itoa(n), func(b *testing.B) {
			var perSession, overhead float64
			for b.Loop() {
				perSession, overhead = memstoreBytes(b, n)
			}
			b.ReportMetric(perSession, "B/session")
			b.ReportMetric(overhead, "overhead-B/session")
		})
	}
}

func memstoreBytes(b *testing.B, n int) (perSession, overhead float64) {
	st := memstore.New(memstore.Options{CleanupInterval: -1})
	l, err := apps.NewSessionkit(st, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := apps.Handler(l)
	w := &discard{h: make(http.Header)}
	req := httptest.NewRequest("GET", "/read", nil)
	before := heapAlloc()
	for range n {
		clear(w.h)
		r := *req
		h.ServeHTTP(w, &r)
	}
	after := heapAlloc()
	if st.Len() != n {
		b.Fatalf("store holds %d sessions, want %d", st.Len(), n)
	}
	// One more session, to weigh its data.
	clear(w.h)
	h.ServeHTTP(w, httptest.NewRequest("GET", "/read", nil))
	token, _, _ := strings.Cut(strings.TrimPrefix(w.h.Get("Set-Cookie"), apps.CookieName+"="), ";")
	rec, err := st.Load(context.Background(), sessionkit.HashToken(token))
	if err != nil || rec == nil {
		b.Fatalf("load the last session: %v, %v", rec, err)
	}
	runtime.KeepAlive(st)
	perSession = float64(after-before) / float64(n)
	return perSession, perSession - float64(payload(rec))
}

var redisSessions = flag.Int("redis-sessions", 1_000_000, "sessions BenchmarkRedisScale fills Redis with")

// BenchmarkRedisScale measures sessionkit + redisstore with 1,000 and then
// 1,000,000 sessions in Redis (spread over 10,000 users, 100 sessions
// each): the time per /read and /write request through the manager must not
// change with the number of sessions, and the per-user index must stay
// bounded by the user's live sessions. It starts its own redis-server
// (skipping when there is none) and takes about a minute to fill Redis:
//
//	go test -run '^$' -bench RedisScale -benchtime 20000x
func BenchmarkRedisScale(b *testing.B) {
	rdb, st, stacks := startRedisStacks(b, redis.Options{PoolSize: 64})
	ctx := context.Background()
	h := stacks[1].h // sessionkit + redisstore

	// The requests use the first 64 sessions, created through the manager.
	var cookies []string
	for range 64 {
		cookies = append(cookies, sessionCookie(b, h))
	}
	mem0 := usedMemory(b, rdb)
	have := 64
	for _, n := range []int{1_000, *redisSessions} {
		start := time.Now()
		fill(b, st, have, n)
		have = n
		b.Logf("filled Redis to %d sessions in %v", n, time.Since(start).Round(time.Millisecond))
		perSession := float64(usedMemory(b, rdb)-mem0) / float64(n)
		for _, path := range []string{"/read", "/write"} {
			b.Run(fmt.Sprintf("sessions=%d/path=%s", n, strings.TrimPrefix(path, "/")), func(b *testing.B) {
				var next atomic.Int64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					req := httptest.NewRequest("GET", path, nil)
					req.Header.Set("Cookie", cookies[next.Add(1)%int64(len(cookies))])
					w := &discard{h: make(http.Header)}
					for pb.Next() {
						clear(w.h)
						w.code = 0
						r := *req
						h.ServeHTTP(w, &r)
						if w.code != 0 && w.code != http.StatusOK {
							b.Errorf("%s: status %d", path, w.code)
							return
						}
					}
				})
				b.ReportMetric(perSession, "redis-B/session")
			})
		}
	}

	// Each user's index holds exactly their live sessions (100 each with
	// 1M sessions).
	want := int64(0)
	for i := 64; i < *redisSessions; i++ {
		if i%10_000 == 4242 {
			want++
		}
	}
	if n, err := rdb.ZCard(ctx, "sk:u:{user-4242}").Result(); err != nil || n != want {
		b.Errorf("index of user-4242 holds %d entries (%v), want %d", n, err, want)
	}
	// The index scores each session by its absolute expiry and is trimmed
	// of the entries past it whenever it is written: a user who logs in
	// 1,000 times with sessions that end keeps one entry per live session.
	soon := time.Now().Add(300 * time.Millisecond)
	for i := range 1000 {
		if err := st.Create(ctx, record(i, "churn-abs", soon, soon)); err != nil {
			b.Fatal(err)
		}
	}
	// Sessions that end idle, before their absolute expiry, keep their
	// entry until it passes or until ListByUser, which checks every entry
	// against its session, drops it.
	for i := range 1000 {
		if err := st.Create(ctx, record(i, "churn-idle", soon, time.Now().Add(24*time.Hour))); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(time.Until(soon) + 100*time.Millisecond)
	later := time.Now().Add(time.Hour)
	if err := st.Create(ctx, record(-1, "churn-abs", later, later)); err != nil {
		b.Fatal(err)
	}
	if err := st.Create(ctx, record(-1, "churn-idle", later, later)); err != nil {
		b.Fatal(err)
	}
	abs, _ := rdb.ZCard(ctx, "sk:u:{churn-abs}").Result()
	idle, _ := rdb.ZCard(ctx, "sk:u:{churn-idle}").Result()
	list, err := st.ListByUser(ctx, "churn-idle")
	if err != nil {
		b.Fatal(err)
	}
	idleAfter, _ := rdb.ZCard(ctx, "sk:u:{churn-idle}").Result()
	b.Logf("per-user index after 1,000 logins whose sessions ended and one new: %d entries (absolute expiry passed); "+
		"%d (idle expiry passed), %d after ListByUser, which lists %d", abs, idle, idleAfter, len(list))
	if abs != 1 || idleAfter != 1 || len(list) != 1 {
		b.Errorf("per-user index not bounded by the live sessions: %d, %d, %d entries, %d listed, want 1 each", abs, idle, idleAfter, len(list))
	}
}

// record returns a session shaped like the manager's, with a random ID,
// that ends at expires (idle) or absolute, whichever comes first.
func record(i int, user string, expires, absolute time.Time) *sessionkit.Record {
	var b [32]byte
	rand.Read(b[:])
	now := time.Now()
	return &sessionkit.Record{
		ID:             sessionkit.HashToken(base64.RawURLEncoding.EncodeToString(b[:])),
		UserID:         user,
		Values:         map[string][]byte{"user": []byte(`"gopher"`), "n": []byte(strconv.Itoa(i))},
		CreatedAt:      now,
		LastSeen:       now,
		ExpiresAt:      expires,
		AbsoluteExpiry: absolute,
		Meta:           map[string]string{"ip": "192.0.2.1", "ua": "loadbench"},
	}
}

// fill creates sessions from..to-1 in st, with 32 goroutines. Session i
// belongs to user-(i mod 10,000).
func fill(b *testing.B, st sessionkit.Store, from, to int) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	var next atomic.Int64
	next.Store(int64(from))
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if err := st.Create(ctx, record(i, "user-"+strconv.Itoa(i%10_000), exp, exp.Add(23*time.Hour))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

func usedMemory(b *testing.B, rdb *redis.Client) int64 {
	info, err := rdb.InfoMap(context.Background(), "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	n, err := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
