package redistest

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redisstore"
)

// TestClusterFailover runs the failover test of package redissuite on
// the store's two formats, each with a ClusterClient set up as the README
// shows, with go-redis's default settings.
func TestClusterFailover(t *testing.T) {
	// go-redis logs every failed dial of the dead master.
	logging.Disable()
	t.Cleanup(logging.Enable)
	redissuite.RunFailover(t, func(t *testing.T, masters []string) []redissuite.Format {
		// Each format has a client of its own, so that neither recovers
		// thanks to the other.
		client := func() redis.UniversalClient {
			c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: masters, ContextTimeoutEnabled: true})
			t.Cleanup(func() { c.Close() })
			if _, ok := c.(*redis.ClusterClient); !ok {
				t.Fatalf("NewUniversalClient returned a %T", c)
			}
			return c
		}
		express, err := redisstore.NewExpress(client(), redisstore.ExpressOptions{Prefix: "fox:"})
		if err != nil {
			t.Fatal(err)
		}
		return []redissuite.Format{
			{Name: "Native", Store: newStore(t, client(), "fo:"), Key: func(id string) string { return "fo:s:{" + id + "}" }},
			{
				Name: "AutoPipeline", Store: newStoreWith(t, client(), autoPipelined(redisstore.Options{Prefix: "foa:"}, true)),
				Key: func(id string) string { return "foa:s:{" + id + "}" },
			},
			{Name: "Express", Express: true, Store: express, Key: func(id string) string { return "fox:" + id }},
		}
	})
}

// TestExpressUpdateOnReplica checks that an Update sent to a node that has
// become a replica, as a demoted master is after a failover, fails as
// unavailable (503), not with the EXECABORT that Redis answers to the
// transaction whose write it refused to queue (500).
func TestExpressUpdateOnReplica(t *testing.T) {
	ctx := t.Context()
	master := testserver.StartRedis(t)
	_, port, _ := net.SplitHostPort(master.Addr)
	replica := testserver.StartRedis(t, "--replicaof", "127.0.0.1", port)
	stores := make(map[string]*redisstore.ExpressStore)
	for _, addr := range []string{master.Addr, replica.Addr} {
		c := newClient(t, &redis.UniversalOptions{Addrs: []string{addr}})
		st, err := redisstore.NewExpress(c, redisstore.ExpressOptions{})
		if err != nil {
			t.Fatal(err)
		}
		stores[addr] = st
	}
	now := time.Now()
	if err := stores[master.Addr].Create(ctx, redissuite.ExpressRecord("sid", now)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if n, _ := testserver.RedisDo(replica.Addr, "EXISTS", "sess:sid"); n == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session did not reach the replica")
		}
	}
	d := sessionkit.Delta{Set: map[string][]byte{"k": []byte("1")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	err := stores[replica.Addr].Update(ctx, "sid", d)
	if !errors.Is(err, sessionkit.ErrUnavailable) || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("Update on a replica: %v, want ErrUnavailable for READONLY", err)
	}
}

// TestClusterReload checks, without a server, that calls failing as
// unavailable on a ClusterClient make it re-read the cluster map, a few
// times a second at most, and that calls with a canceled context do not.
func TestClusterReload(t *testing.T) {
	logging.Disable()
	t.Cleanup(logging.Enable)
	var reloads atomic.Int32
	client := redis.NewClusterClient(&redis.ClusterOptions{
		// The map says that every slot is on a port where nothing listens.
		ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) {
			reloads.Add(1)
			return []redis.ClusterSlot{{Start: 0, End: 16383, Nodes: []redis.ClusterNode{{Addr: "127.0.0.1:1"}}}}, nil
		},
		// Fail fast: one dial, no retry.
		DialerRetries: 1,
		MaxRedirects:  -1,
	})
	t.Cleanup(func() { client.Close() })
	st := newStore(t, client, "")

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 {
		if _, err := st.Load(canceled, "x"); err == nil {
			t.Fatal("Load succeeded")
		}
	}
	time.Sleep(300 * time.Millisecond) // a reload in flight ends
	if n := reloads.Load(); n > 1 {
		t.Fatalf("%d reloads after calls with a canceled context, want only the first load of the map", n)
	}

	const period = time.Second
	start := time.Now()
	calls := 0
	for time.Since(start) < period {
		if _, err := st.Load(t.Context(), "x"); !errors.Is(err, sessionkit.ErrUnavailable) {
			t.Fatalf("Load: %v, want ErrUnavailable", err)
		}
		calls++
	}
	time.Sleep(300 * time.Millisecond)
	// One reload per 250 ms, and one more that go-redis may queue.
	n := int(reloads.Load()) - 1
	t.Logf("%d failed calls in %v: %d reloads", calls, period, n)
	if n < 2 || n > 6 {
		t.Fatalf("%d failed calls in %v caused %d reloads of the cluster map, want 2 to 6", calls, period, n)
	}
}
