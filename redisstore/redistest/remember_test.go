package redistest

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/remember/remembertest"
)

func newRememberStore(t *testing.T, c redis.UniversalClient, prefix string) *redisstore.RememberStore {
	t.Helper()
	r, err := redisstore.NewRememberStore(newStore(t, c, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRememberConformance runs remembertest on every topology; on a Cluster
// the tokens of one user lie in many hash slots. The second instance has
// its own client, as another process would.
func TestRememberConformance(t *testing.T) {
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			c := top.start(t)
			prefixes := map[remember.Store]string{}
			remembertest.Run(t, remembertest.Options{
				New: func(t *testing.T) remember.Store {
					prefix := redissuite.RandomPrefix()
					r := newRememberStore(t, c, prefix)
					prefixes[r] = prefix
					return r
				},
				Reopen: func(t *testing.T, st remember.Store) remember.Store {
					return newRememberStore(t, secondClient(t, c), prefixes[st])
				},
				ServerExpiry: true,
			})
		})
	}
}

// secondClient returns another client to the servers of c, with its own
// connections, as another process has.
func secondClient(t *testing.T, c redis.UniversalClient) redis.UniversalClient {
	var c2 redis.UniversalClient
	switch c := c.(type) {
	case *redis.ClusterClient:
		c2 = redis.NewClusterClient(c.Options())
	case *redis.Client:
		c2 = redis.NewClient(c.Options()) // a Sentinel client's options keep its dialer
	default:
		t.Fatalf("unexpected client %T", c)
	}
	t.Cleanup(func() { c2.Close() })
	return c2
}

// TestRememberKeys checks the key layout: a token expires at its ExpiresAt
// (not at a rotation) and its user's set expires with the last token.
func TestRememberKeys(t *testing.T) {
	c := standaloneClient(t)
	prefix := redissuite.RandomPrefix()
	r := newRememberStore(t, c, prefix)
	ctx := ctxT(t)
	now := time.Now()
	tok := remember.Token{Selector: "sel", UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := r.Create(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := r.Rotate(ctx, "sel", tok.Hash, [32]byte{1}, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{prefix + "r:{sel}", prefix + "ru:{u1}"} {
		ttl := c.PTTL(ctx, key).Val()
		if ttl < time.Hour-time.Minute || ttl > time.Hour {
			t.Errorf("TTL of %s = %v, want about 1h", key, ttl)
		}
	}
	if err := r.Delete(ctx, "sel"); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, prefix+"r:{sel}", prefix+"ru:{u1}").Val(); n != 0 {
		t.Errorf("%d keys left after Delete, want 0", n)
	}
}
