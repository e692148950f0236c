package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

// topology starts the servers of one kind of deployment and returns a
// client for them.
type topology struct {
	name  string
	start func(t *testing.T) redis.UniversalClient
}

var topologies = []topology{
	{"Standalone", standaloneClient},
	{"Cluster", clusterClient},
	{"Sentinel", sentinelClient},
}

func standaloneClient(t *testing.T) redis.UniversalClient {
	r := testserver.StartRedis(t)
	return newClient(t, &redis.UniversalOptions{Addrs: []string{r.Addr}})
}

func clusterClient(t *testing.T) redis.UniversalClient {
	addrs := testserver.StartRedisCluster(t)
	return newClient(t, &redis.UniversalOptions{Addrs: addrs, IsClusterMode: true})
}

func sentinelClient(t *testing.T) redis.UniversalClient {
	name, sentinels, _ := testserver.StartRedisSentinel(t)
	return newClient(t, &redis.UniversalOptions{Addrs: sentinels, MasterName: name})
}

func newClient(t *testing.T, opts *redis.UniversalOptions) redis.UniversalClient {
	opts.ContextTimeoutEnabled = true
	c := redis.NewUniversalClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func newStore(t *testing.T, c redis.UniversalClient, prefix string) *redisstore.Store {
	t.Helper()
	return newStoreWith(t, c, redisstore.Options{Prefix: prefix})
}

func newStoreWith(t *testing.T, c redis.UniversalClient, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	st, err := redisstore.New(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// autoPipelined returns opts sending every call of the store through the
// client's autopipeliner when on, whatever the number of calls in flight.
func autoPipelined(opts redisstore.Options, on bool) redisstore.Options {
	opts.AutoPipeline = on
	if on {
		opts.AutoPipelineFrom = 1
	}
	return opts
}

// TestConformance runs the suite on each topology, with the client's
// commands sent one by one and through its autopipeliner (every call:
// AutoPipelineFrom 1).
func TestConformance(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			c := top.start(t)
			for _, ap := range []bool{false, true} {
				name := "RoundTrips"
				if ap {
					name = "AutoPipeline"
				}
				t.Run(name, func(t *testing.T) {
					prefix := redissuite.RandomPrefix()
					st := newStoreWith(t, c, autoPipelined(redisstore.Options{Prefix: prefix}, ap))
					sessiontest.Run(t, sessiontest.Options{
						New:  func(t *testing.T) sessionkit.Store { return st },
						Dump: func(t *testing.T) []byte { return redissuite.Dump(t, c, prefix) },
					})
				})
			}
		})
	}
}

func TestNew(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := redisstore.New(nil, redisstore.Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := redisstore.New(c, redisstore.Options{Prefix: "a{b}:"}); err == nil {
		t.Error("New accepted a prefix with a hash tag")
	}
	if _, err := redisstore.New(c, redisstore.Options{}); err != nil {
		t.Errorf("New: %v", err)
	}
	if _, err := redisstore.New(c, redisstore.Options{AutoPipeline: true}); err != nil {
		t.Errorf("New with AutoPipeline: %v", err)
	}
	if _, err := redisstore.New(c, redisstore.Options{AutoPipeline: true, AutoPipelineFrom: -1}); err == nil {
		t.Error("New accepted a negative AutoPipelineFrom")
	}
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	if _, err := redisstore.New(ring, redisstore.Options{AutoPipeline: true}); err == nil || !strings.Contains(err.Error(), "AutoPipeline") {
		t.Errorf("New(Ring, AutoPipeline) = %v, want an error naming AutoPipeline", err)
	}
}

func newRecord(user string) *sessionkit.Record {
	b := make([]byte, 32)
	rand.Read(b)
	n := time.Now().Truncate(time.Millisecond)
	return &sessionkit.Record{
		ID:             hex.EncodeToString(b),
		UserID:         user,
		Values:         map[string][]byte{"a": []byte("1"), "b": []byte("2")},
		CreatedAt:      n,
		LastSeen:       n,
		ExpiresAt:      n.Add(time.Hour),
		AbsoluteExpiry: n.Add(24 * time.Hour),
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestTouchKeepsValues(t *testing.T) {
	c := standaloneClient(t)
	prefix := redissuite.RandomPrefix()
	st := newStore(t, c, prefix)
	rec := newRecord("")
	if err := st.Create(ctxT(t), rec); err != nil {
		t.Fatal(err)
	}
	// Change a value behind the store's back: a Touch that rewrote the
	// values would undo it.
	key := prefix + "s:{" + rec.ID + "}"
	if err := c.HSet(ctxT(t), key, "v:a", "changed").Err(); err != nil {
		t.Fatal(err)
	}
	later := rec.LastSeen.Add(time.Minute)
	if err := st.Touch(ctxT(t), rec.ID, later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctxT(t), rec.ID)
	if err != nil || got == nil {
		t.Fatalf("Load = %v, %v", got, err)
	}
	if string(got.Values["a"]) != "changed" || string(got.Values["b"]) != "2" {
		t.Errorf("values after Touch = %q", got.Values)
	}
	if !got.LastSeen.Equal(later) || !got.ExpiresAt.Equal(later.Add(time.Hour)) {
		t.Errorf("Touch did not set the times: %v %v", got.LastSeen, got.ExpiresAt)
	}
	ttl := c.PTTL(ctxT(t), key).Val()
	if want := time.Until(later.Add(time.Hour + sessionkit.DefaultKeepExpired)); ttl < want-5*time.Second || ttl > want+5*time.Second {
		t.Errorf("TTL after Touch = %v, want about %v (the expiry and KeepExpired)", ttl, want)
	}
}

// TestUserIndexBounded checks that the user's sorted set drops expired and
// deleted sessions by itself and never lists them.
func TestUserIndexBounded(t *testing.T) {
	c := standaloneClient(t)
	prefix := redissuite.RandomPrefix()
	st := newStore(t, c, prefix)
	ctx := ctxT(t)
	user := "alice"
	ukey := prefix + "u:{" + user + "}"
	card := func() int64 {
		t.Helper()
		n, err := c.ZCard(ctx, ukey).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	live := newRecord(user)
	if err := st.Create(ctx, live); err != nil {
		t.Fatal(err)
	}
	// Sessions whose absolute expiry passes soon: any later index write
	// trims them, without a listing.
	for range 20 {
		rec := newRecord(user)
		rec.ExpiresAt = time.Now().Add(300 * time.Millisecond)
		rec.AbsoluteExpiry = rec.ExpiresAt
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	// Sessions that only go idle: their entries stay until their absolute
	// expiry or the next listing, which drops them.
	for range 10 {
		rec := newRecord(user)
		rec.ExpiresAt = time.Now().Add(300 * time.Millisecond)
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	// Sessions deleted one by one leave at once.
	for range 5 {
		rec := newRecord(user)
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
	}
	// A session without an absolute expiry, touched past the expiry it was
	// indexed with, must stay listed.
	noAbs := newRecord(user)
	noAbs.ExpiresAt = time.Now().Add(300 * time.Millisecond)
	noAbs.AbsoluteExpiry = time.Time{}
	if err := st.Create(ctx, noAbs); err != nil {
		t.Fatal(err)
	}
	if err := st.Touch(ctx, noAbs.ID, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := card(); n != 32 {
		t.Fatalf("index holds %d entries, want 32", n)
	}
	time.Sleep(400 * time.Millisecond)

	trigger := newRecord(user)
	if err := st.Create(ctx, trigger); err != nil {
		t.Fatal(err)
	}
	if n := card(); n != 13 {
		t.Fatalf("index holds %d entries after a write, want 13", n)
	}
	list, err := st.ListByUser(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, info := range list {
		got[info.ID] = true
	}
	if len(list) != 3 || !got[live.ID] || !got[noAbs.ID] || !got[trigger.ID] {
		t.Fatalf("ListByUser = %v, want the 3 live sessions", list)
	}
	if n := card(); n != 3 {
		t.Fatalf("index holds %d entries after listing, want 3", n)
	}

	// A stale entry (the session vanished without Delete, e.g. evicted) is
	// dropped by ListByUser.
	c.Del(ctx, prefix+"s:{"+trigger.ID+"}")
	if list, err := st.ListByUser(ctx, user); err != nil || len(list) != 2 {
		t.Fatalf("ListByUser = %v, %v; want two sessions", list, err)
	}
	if n := card(); n != 2 {
		t.Fatalf("index holds %d entries, want 2", n)
	}
	// The index expires with the last absolute expiry of its sessions.
	ttl := c.PTTL(ctx, ukey).Val()
	if want := time.Until(live.AbsoluteExpiry); ttl < want-5*time.Second || ttl > want+5*time.Second {
		t.Errorf("index TTL = %v, want about %v", ttl, want)
	}
	for _, id := range []string{live.ID, noAbs.ID} {
		if err := st.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Exists(ctx, ukey).Val(); n != 0 {
		t.Error("index still exists after the last session was deleted")
	}
}

// TestClusterSlots runs every operation on a cluster with sessions spread
// over all masters and checks that iteration sees them all and nothing
// fails with CROSSSLOT.
func TestClusterSlots(t *testing.T) {
	c := clusterClient(t)
	st := newStore(t, c, redissuite.RandomPrefix())
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	want := map[string]bool{}
	users := []string{"u1", "u2", "u3"}
	for i := range 300 {
		rec := newRecord(users[i%3])
		rec.Meta = map[string]string{"ip": "192.0.2.1"}
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		want[rec.ID] = true
		uid := users[(i+1)%3]
		d := sessionkit.Delta{Set: map[string][]byte{"x": []byte("1")}, Del: []string{"a"}, UserID: &uid,
			LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
		if err := st.Update(ctx, rec.ID, d); err != nil {
			t.Fatal(err)
		}
		if err := st.Touch(ctx, rec.ID, rec.LastSeen, rec.ExpiresAt.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// Every master holds sessions.
	var mu sync.Mutex
	perNode := map[string]int64{}
	err := c.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		size, err := n.DBSize(ctx).Result()
		mu.Lock()
		perNode[n.Options().Addr] = size
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for addr, n := range perNode {
		if n == 0 {
			t.Errorf("master %s holds no keys", addr)
		}
	}
	for _, limit := range []int{1, 7, 1000} {
		seen := map[string]int{}
		cursor := ""
		for {
			page, next, err := st.Iterate(ctx, cursor, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("page of %d entries for limit %d", len(page), limit)
			}
			for _, info := range page {
				seen[info.ID]++
			}
			if next == "" {
				break
			}
			cursor = next
		}
		for id := range want {
			if seen[id] != 1 {
				t.Fatalf("limit %d: session %s seen %d times", limit, id, seen[id])
			}
		}
	}
	total := 0
	for _, u := range users {
		list, err := st.ListByUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		total += len(list)
	}
	if total != len(want) {
		t.Fatalf("the user indexes list %d sessions, want %d", total, len(want))
	}
	n, err := st.DeleteByUser(ctx, "u1")
	if err != nil {
		t.Fatal(err)
	}
	if n != 100 {
		t.Fatalf("DeleteByUser = %d, want 100", n)
	}
	for id := range want {
		if err := st.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUnavailable stops the server in the middle and checks that calls fail
// quickly with ErrUnavailable, then that the store recovers by itself once
// the server is back; with the commands sent one by one and through the
// client's autopipeliner, which must still end each call with its context.
func TestUnavailable(t *testing.T) {
	t.Run("RoundTrips", func(t *testing.T) { testUnavailable(t, false) })
	t.Run("AutoPipeline", func(t *testing.T) { testUnavailable(t, true) })
}

func testUnavailable(t *testing.T, ap bool) {
	newStore := func(t *testing.T, c redis.UniversalClient, prefix string) *redisstore.Store {
		return newStoreWith(t, c, autoPipelined(redisstore.Options{Prefix: prefix}, ap))
	}
	r := testserver.StartRedis(t)
	c := newClient(t, &redis.UniversalOptions{Addrs: []string{r.Addr}})
	st := newStore(t, c, redissuite.RandomPrefix())
	rec := newRecord("bob")
	if err := st.Create(ctxT(t), rec); err != nil {
		t.Fatal(err)
	}
	r.Stop()

	calls := map[string]func(ctx context.Context) error{
		"Load": func(ctx context.Context) error { _, err := st.Load(ctx, rec.ID); return err },
		"Create": func(ctx context.Context) error {
			return st.Create(ctx, newRecord("bob"))
		},
		"Update": func(ctx context.Context) error {
			return st.Update(ctx, rec.ID, sessionkit.Delta{LastSeen: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
		},
		"Touch":  func(ctx context.Context) error { return st.Touch(ctx, rec.ID, time.Now(), time.Now().Add(time.Hour)) },
		"Delete": func(ctx context.Context) error { return st.Delete(ctx, rec.ID) },
		"ListByUser": func(ctx context.Context) error {
			_, err := st.ListByUser(ctx, "bob")
			return err
		},
		"DeleteByUser": func(ctx context.Context) error {
			_, err := st.DeleteByUser(ctx, "bob")
			return err
		},
		"Iterate": func(ctx context.Context) error {
			_, _, err := st.Iterate(ctx, "", 10)
			return err
		},
	}
	for name, call := range calls {
		// go-redis retries a refused dial for a while; the context
		// deadline must cut that short. Which comes first, go-redis giving
		// up (ErrUnavailable) or the caller's deadline (which is not an
		// outage of the store's making), depends on timing.
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		start := time.Now()
		err := call(ctx)
		cancel()
		wantUnavailableOrDeadline(t, name+" with the server down", err)
		if d := time.Since(start); d > 1500*time.Millisecond {
			t.Errorf("%s took %v with a 300ms deadline", name, d)
		}
	}
	// A client that dials once gives up within the caller's deadline: the
	// store reports the outage.
	once := newStore(t, newClient(t, &redis.UniversalOptions{Addrs: []string{r.Addr}, DialerRetries: 1, MaxRetries: -1}), redissuite.RandomPrefix())
	for name, call := range map[string]func(ctx context.Context) error{
		"Load":   func(ctx context.Context) error { _, err := once.Load(ctx, rec.ID); return err },
		"Delete": func(ctx context.Context) error { return once.Delete(ctx, rec.ID) },
	} {
		if err := call(ctxT(t)); !errors.Is(err, sessionkit.ErrUnavailable) {
			t.Errorf("%s with the server down and time to spare = %v; want ErrUnavailable", name, err)
		}
	}

	// A server that accepts connections but never answers: the context
	// deadline must bound the call.
	hang := hangingServer(t)
	hc := newClient(t, &redis.UniversalOptions{Addrs: []string{hang}, MaxRetries: -1})
	hst := newStore(t, hc, redissuite.RandomPrefix())
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	start := time.Now()
	_, err := hst.Load(ctx, rec.ID)
	cancel()
	wantUnavailableOrDeadline(t, "Load from a hanging server", err)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Load from a hanging server took %v with a 300ms deadline", d)
	}

	r.Start()
	// The data is gone (no persistence), but the store works again without
	// being recreated.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := st.Create(ctxT(t), rec)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := st.Load(ctxT(t), rec.ID); err != nil || got == nil {
		t.Fatalf("Load after recovery = %v, %v", got, err)
	}
}

// wantUnavailableOrDeadline checks that err reports an outage
// (sessionkit.ErrUnavailable) or the caller's passed deadline
// (context.DeadlineExceeded, then not marked as an outage).
func wantUnavailableOrDeadline(t *testing.T, what string, err error) {
	t.Helper()
	unavailable, deadline := errors.Is(err, sessionkit.ErrUnavailable), errors.Is(err, context.DeadlineExceeded)
	if unavailable == deadline {
		t.Errorf("%s = %v; want ErrUnavailable or context.DeadlineExceeded, one of them", what, err)
	}
}

// TestSentinelFailover fails the master over in the middle and checks that
// sessions written before are still there and the store keeps working.
func TestSentinelFailover(t *testing.T) {
	name, sentinels, nodes := testserver.StartRedisSentinel(t)
	c := newClient(t, &redis.UniversalOptions{Addrs: sentinels, MasterName: name})
	// The same checks on a store sending its commands one by one and on
	// one sending them through the client's autopipeliner.
	stores := []*redisstore.Store{
		newStore(t, c, redissuite.RandomPrefix()),
		newStoreWith(t, c, autoPipelined(redisstore.Options{Prefix: redissuite.RandomPrefix()}, true)),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	recs := make([][]*sessionkit.Record, len(stores))
	for i, st := range stores {
		for range 10 {
			rec := newRecord("carol")
			if err := st.Create(ctx, rec); err != nil {
				t.Fatal(err)
			}
			recs[i] = append(recs[i], rec)
		}
	}
	// Make sure the replica has everything before it takes over.
	testserver.WaitReplicated(t, nodes[0])

	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinels[0]})
	defer sc.Close()
	// The sentinel may briefly refuse (NOGOODSLAVE) until it has fresh news
	// of the replica.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := sc.Failover(ctx, name).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SENTINEL FAILOVER: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for {
		addr, err := sc.GetMasterAddrByName(ctx, name).Result()
		if err == nil && strings.Join(addr, ":") == nodes[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("failover did not happen: master is %v, %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	for i, st := range stores {
		sentinelRecovered(t, ctx, st, recs[i])
	}
	// The new master is the old replica.
	if role, err := testserver.RedisDo(nodes[1], "ROLE"); err != nil || !strings.HasPrefix(role, "master") {
		t.Fatalf("ROLE of the replica = %q, %v", role, err)
	}
}

// sentinelRecovered checks that st, which stored recs before a failover,
// recovers by itself after it and still holds them.
func sentinelRecovered(t *testing.T, ctx context.Context, st *redisstore.Store, recs []*sessionkit.Record) {
	t.Helper()
	// The store may see errors while the client switches over; they must
	// be ErrUnavailable and stop by themselves.
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := st.Touch(ctx, recs[0].ID, time.Now(), time.Now().Add(time.Hour))
		if err == nil {
			break
		}
		if !errors.Is(err, sessionkit.ErrUnavailable) {
			t.Fatalf("Touch during failover = %v; want nil or ErrUnavailable", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover after failover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, rec := range recs {
		got, err := st.Load(ctx, rec.ID)
		if err != nil || got == nil {
			t.Fatalf("Load after failover = %v, %v", got, err)
		}
		x := "after"
		d := sessionkit.Delta{Set: map[string][]byte{"x": []byte(x)}, LastSeen: time.Now(), ExpiresAt: rec.ExpiresAt}
		if err := st.Update(ctx, rec.ID, d); err != nil {
			t.Fatalf("Update after failover: %v", err)
		}
	}
	list, err := st.ListByUser(ctx, "carol")
	if err != nil || len(list) != len(recs) {
		t.Fatalf("ListByUser after failover = %d sessions, %v; want %d", len(list), err, len(recs))
	}
	if err := st.Create(ctx, newRecord("carol")); err != nil {
		t.Fatalf("Create after failover: %v", err)
	}
}

// hangingServer returns the address of a server that accepts connections
// and reads from them but never answers.
func hangingServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Go(func() { io.Copy(io.Discard, conn) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// TestIndexConcurrentListing creates and relinks sessions while another
// goroutine keeps listing and so dropping entries it finds stale: no live
// session may end up missing from the index.
func TestIndexConcurrentListing(t *testing.T) {
	c := standaloneClient(t)
	st := newStore(t, c, redissuite.RandomPrefix())
	ctx := ctxT(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, u := range []string{"dave", "erin"} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := st.ListByUser(ctx, u); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	want := map[string]int{}
	for i := range 200 {
		rec := newRecord("dave")
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			erin := "erin"
			d := sessionkit.Delta{UserID: &erin, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
			if err := st.Update(ctx, rec.ID, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	want["dave"], want["erin"] = 100, 100
	close(stop)
	wg.Wait()
	for u, n := range want {
		list, err := st.ListByUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != n {
			t.Errorf("ListByUser(%s) = %d sessions, want %d", u, len(list), n)
		}
	}
}

// TestManyValues writes more values than one Lua unpack can take, so the
// scripts must split their HSET and HDEL calls.
func TestManyValues(t *testing.T) {
	c := standaloneClient(t)
	st := newStore(t, c, redissuite.RandomPrefix())
	ctx := ctxT(t)
	rec := newRecord("")
	for i := range 5000 {
		rec.Values[fmt.Sprint("k", i)] = []byte(fmt.Sprint(i))
	}
	if err := st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	d := sessionkit.Delta{Set: map[string][]byte{}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
	for i := range 5000 {
		d.Set[fmt.Sprint("n", i)] = []byte("x")
		d.Del = append(d.Del, fmt.Sprint("k", i))
	}
	if err := st.Update(ctx, rec.ID, d); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(ctx, rec.ID)
	if err != nil || got == nil {
		t.Fatalf("Load = %v, %v", got, err)
	}
	if len(got.Values) != 5002 || got.Values["k1"] != nil || string(got.Values["n4999"]) != "x" {
		t.Fatalf("after Update: %d values", len(got.Values))
	}
	d = sessionkit.Delta{Clear: true, Set: map[string][]byte{"only": []byte("1")}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
	if err := st.Update(ctx, rec.ID, d); err != nil {
		t.Fatal(err)
	}
	got, err = st.Load(ctx, rec.ID)
	if err != nil || got == nil || len(got.Values) != 1 || string(got.Values["only"]) != "1" {
		t.Fatalf("after Clear: %v, %v", got, err)
	}
}

// TestRing runs the conformance suite on a client-side sharded Ring of two
// servers, which Iterate scans shard by shard.
func TestRing(t *testing.T) {
	a, b := testserver.StartRedis(t), testserver.StartRedis(t)
	c := redis.NewRing(&redis.RingOptions{
		Addrs:                 map[string]string{"a": a.Addr, "b": b.Addr},
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { c.Close() })
	prefix := redissuite.RandomPrefix()
	st := newStore(t, c, prefix)
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store { return st },
		Dump: func(t *testing.T) []byte {
			var all []byte
			for _, addr := range []string{a.Addr, b.Addr} {
				nc := redis.NewClient(&redis.Options{Addr: addr})
				all = append(all, redissuite.Dump(t, nc, prefix)...)
				nc.Close()
			}
			return all
		},
	})
}

// TestHeaderChanges changes the user, the remember-me flag and the absolute
// expiry of a session, which the update script rewrites inside the header,
// and checks that everything else in the header survives, with user IDs
// that look like the header's own syntax.
func TestHeaderChanges(t *testing.T) {
	c := standaloneClient(t)
	st := newStore(t, c, redissuite.RandomPrefix())
	ctx := ctxT(t)
	for _, uid := range []string{"42", "", "a b 1:x", "12:short", "ü 0 1 ", strings.Repeat("u", 300)} {
		rec := newRecord("")
		rec.Meta = map[string]string{"ip": "192.0.2.1", "ua": "Mozilla/5.0 (X11; Linux) 3:abc"}
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		later := rec.LastSeen.Add(time.Minute)
		abs := rec.AbsoluteExpiry.Add(time.Hour)
		yes := true
		d := sessionkit.Delta{UserID: &uid, Persistent: &yes, AbsoluteExpiry: abs, LastSeen: later, ExpiresAt: later.Add(time.Hour)}
		if err := st.Update(ctx, rec.ID, d); err != nil {
			t.Fatalf("user %q: Update: %v", uid, err)
		}
		got, err := st.Load(ctx, rec.ID)
		if err != nil || got == nil {
			t.Fatalf("user %q: Load = %v, %v", uid, got, err)
		}
		want := rec.Clone()
		d.Apply(want)
		if got.UserID != want.UserID || !got.Persistent || !got.AbsoluteExpiry.Equal(abs) ||
			!got.CreatedAt.Equal(rec.CreatedAt) || !got.LastSeen.Equal(later) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
			!maps.Equal(got.Meta, rec.Meta) || len(got.Values) != 2 {
			t.Errorf("user %q: after Update got %+v, want %+v", uid, got, want)
		}
		// A plain update and a touch keep the changed header.
		no := false
		d = sessionkit.Delta{Persistent: &no, LastSeen: later, ExpiresAt: later.Add(time.Hour)}
		if err := st.Update(ctx, rec.ID, d); err != nil {
			t.Fatal(err)
		}
		if err := st.Touch(ctx, rec.ID, later, later.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err = st.Load(ctx, rec.ID)
		if err != nil || got == nil || got.UserID != uid || got.Persistent || !got.AbsoluteExpiry.Equal(abs) || !maps.Equal(got.Meta, rec.Meta) {
			t.Errorf("user %q: after Touch got %+v, %v", uid, got, err)
		}
		if err := st.Delete(ctx, rec.ID); err != nil {
			t.Fatal(err)
		}
		if uid != "" {
			if list, err := st.ListByUser(ctx, uid); err != nil || len(list) != 0 {
				t.Errorf("user %q: ListByUser after Delete = %v, %v", uid, list, err)
			}
		}
	}
}

// TestNotASession puts keys that are not sessions where a session would
// be: the store must neither return nor overwrite them, and must report a
// damaged session rather than guess.
func TestNotASession(t *testing.T) {
	c := standaloneClient(t)
	prefix := redissuite.RandomPrefix()
	st := newStore(t, c, prefix)
	ctx := ctxT(t)
	key := func(id string) string { return prefix + "s:{" + id + "}" }

	// A hash without a header, such as what a write to a deleted session
	// would leave if it were not checked.
	c.HSet(ctx, key("noheader"), "v:n", "1")
	if rec, err := st.Load(ctx, "noheader"); rec != nil || err != nil {
		t.Errorf("Load(hash without header) = %v, %v; want nil, nil", rec, err)
	}
	rec := newRecord("")
	rec.ID = "noheader"
	if err := st.Create(ctx, rec); err != sessionkit.ErrExists {
		t.Errorf("Create over a hash without header = %v, want ErrExists", err)
	}
	d := sessionkit.Delta{Set: map[string][]byte{"n": []byte("2")}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
	if err := st.Update(ctx, "noheader", d); err != sessionkit.ErrNotFound {
		t.Errorf("Update(hash without header) = %v, want ErrNotFound", err)
	}
	if err := st.Touch(ctx, "noheader", rec.LastSeen, rec.ExpiresAt); err != sessionkit.ErrNotFound {
		t.Errorf("Touch(hash without header) = %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, "noheader"); err != nil || c.Exists(ctx, key("noheader")).Val() != 0 {
		t.Errorf("Delete(hash without header) = %v, key left: %d", err, c.Exists(ctx, key("noheader")).Val())
	}

	// A string.
	c.Set(ctx, key("string"), "x", time.Hour)
	if _, err := st.Load(ctx, "string"); err == nil {
		t.Error("Load(string key) succeeded")
	}
	rec.ID = "string"
	if err := st.Create(ctx, rec); err != sessionkit.ErrExists {
		t.Errorf("Create over a string key = %v, want ErrExists", err)
	}

	// Damaged fields.
	for _, fields := range [][]string{
		{"h", "garbage", "t", "1 1"},
		{"h", "0 0 2 user", "t", "1 1"},
		{"h", "0 x 0 user", "t", "1 1"},
		{"h", "0 0 0 user", "t", "1 1", "m", "9:short"},
		{"h", "0 0 0 user", "t", "1 1", "m", "2:ip"},
		{"h", "0 0 0 user", "t", "1x 1"},
		{"h", "0 0 0 user"},
		{"h", "0 0 0 secret-user", "t", "1 1", "m", "2:ip13:secret-ip"},
		{"h", "0 0 x secret-user", "t", "1 1"},
	} {
		c.Del(ctx, key("bad"))
		c.HSet(ctx, key("bad"), fields)
		rec, err := st.Load(ctx, "bad")
		if err == nil {
			t.Errorf("Load(%q) = %v, want an error", fields, rec)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Load(%q): error %q quotes the session's data", fields, err)
		}
	}
}

func TestLimit(t *testing.T) {
	redissuite.RunLimit(t, func(t *testing.T, addr, prefix string) redissuite.LimitStore {
		return newStore(t, newClient(t, &redis.UniversalOptions{Addrs: []string{addr}}), prefix)
	})
}

// TestLifecycle runs the checks of Remove and Options.KeepExpired shared
// with rueidisstore.
func TestLifecycle(t *testing.T) {
	redissuite.RunLifecycle(t, func(t *testing.T, addr, prefix string, keep time.Duration) redissuite.LifecycleStore {
		c := newClient(t, &redis.UniversalOptions{Addrs: []string{addr}})
		st, err := redisstore.New(c, redisstore.Options{Prefix: prefix, KeepExpired: keep})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// TestAutoPipelineMixed runs many requests at once on a store with the
// default AutoPipelineFrom, so that some calls go straight to the client
// and others through the autopipeliner, interleaved: each session must end
// with every increment its own goroutine made, and no call may fail.
func TestAutoPipelineMixed(t *testing.T) {
	c := standaloneClient(t)
	st := newStoreWith(t, c, redisstore.Options{Prefix: redissuite.RandomPrefix(), AutoPipeline: true})
	ctx := ctxT(t)
	const workers, rounds = 32, 40
	recs := make([]*sessionkit.Record, workers)
	for i := range recs {
		recs[i] = newRecord("")
		if err := st.Create(ctx, recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, rec := range recs {
		wg.Go(func() {
			for n := 1; n <= rounds; n++ {
				got, err := st.Load(ctx, rec.ID)
				if err != nil || got == nil {
					t.Errorf("Load = %v, %v", got, err)
					return
				}
				if want := strconv.Itoa(n - 1); n > 1 && string(got.Values["n"]) != want {
					t.Errorf("session holds n=%q before increment %d", got.Values["n"], n)
					return
				}
				d := sessionkit.Delta{Set: map[string][]byte{"n": []byte(strconv.Itoa(n))}, LastSeen: time.Now(), ExpiresAt: rec.ExpiresAt}
				if err := st.Update(ctx, rec.ID, d); err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, rec := range recs {
		got, err := st.Load(ctx, rec.ID)
		if err != nil || got == nil || string(got.Values["n"]) != strconv.Itoa(rounds) {
			t.Errorf("after the run: %v, %v; want n=%d", got, err, rounds)
		}
	}
}
