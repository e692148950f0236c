package rueidistest

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// TestCacheMemory measures the memory that the client-side cache takes per
// cached session: it creates the sessions, loads each of them once through
// a caching store, and compares the live heap before and after. The
// session is newRecord's: a user, two small values and an IP address.
//
// It caches 10,000 sessions unless SESSIONKIT_CACHE_SESSIONS says how many;
// the figure in the README comes from
//
//	SESSIONKIT_CACHE_SESSIONS=1000000 go test -run TestCacheMemory -v .
func TestCacheMemory(t *testing.T) {
	n := 10000
	if s := os.Getenv("SESSIONKIT_CACHE_SESSIONS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			t.Fatalf("SESSIONKIT_CACHE_SESSIONS=%q: want a positive number", s)
		}
	}
	// No limit on the keys the server tracks: by default Redis tracks 1M
	// and, past that, invalidates the oldest, which would empty the cache
	// as it fills.
	srv := testserver.StartRedis(t, "--tracking-table-max-keys", "0")
	c := newRueidis(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}, CacheSizeEachConn: 8 << 30})
	st, err := rueidisstore.New(c, rueidisstore.Options{Prefix: redissuite.RandomPrefix(), CacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ids := createSessions(t, st, n)
	before := liveHeap()
	start := time.Now()
	loadSessions(t, st, ids)
	took := time.Since(start)
	after := liveHeap()
	per := float64(after-before) / float64(n)
	t.Logf("%d sessions cached in %v: heap %.1f MiB -> %.1f MiB, %.0f bytes per cached session",
		n, took.Round(time.Millisecond), float64(before)/(1<<20), float64(after)/(1<<20), per)
	runtime.KeepAlive(ids)
	if per <= 0 {
		t.Errorf("the heap did not grow (%d -> %d bytes): the sessions were not cached", before, after)
	}
}

// TestCacheMemoryBound checks that rueidis's CacheSizeEachConn bounds the
// cache: 10,000 sessions, about 7 MiB if all were cached, loaded through a
// client whose connections may cache 256 KiB each.
func TestCacheMemoryBound(t *testing.T) {
	srv := testserver.StartRedis(t)
	const perConn = 256 << 10
	c := newRueidis(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}, CacheSizeEachConn: perConn})
	st, err := rueidisstore.New(c, rueidisstore.Options{Prefix: redissuite.RandomPrefix(), CacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ids := createSessions(t, st, 10000)
	before := liveHeap()
	loadSessions(t, st, ids)
	after := liveHeap()
	runtime.KeepAlive(ids)
	// With the default PipelineMultiplex the client has at most 4
	// connections to one server; allow twice their budget for the rest.
	if grown := after - before; grown > 2*4*perConn {
		t.Errorf("the heap grew by %.1f MiB with a cache of %d KiB per connection", float64(grown)/(1<<20), perConn>>10)
	}
}

// createSessions creates n sessions in st from 64 goroutines and returns
// their IDs.
func createSessions(t *testing.T, st *rueidisstore.Store, n int) []string {
	t.Helper()
	ids := make([]string, n)
	parallel(t, n, func(i int) error {
		rec := newRecord("u" + strconv.Itoa(i))
		ids[i] = rec.ID
		return st.Create(t.Context(), rec)
	})
	return ids
}

// loadSessions loads every session of ids from 64 goroutines.
func loadSessions(t *testing.T, st *rueidisstore.Store, ids []string) {
	t.Helper()
	parallel(t, len(ids), func(i int) error {
		_, err := st.Load(t.Context(), ids[i])
		return err
	})
}

// parallel calls f(0) to f(n-1) from 64 goroutines and fails the test on
// the first error.
func parallel(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		once sync.Once
		fail error
	)
	next := make(chan int)
	for range 64 {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { fail = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if fail != nil {
		t.Fatal(fail)
	}
}

// liveHeap returns the bytes of the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
