package redistest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redisstore"
)

// expressEnv is a standalone Redis with a client and an ExpressStore.
type expressEnv struct {
	srv    *testserver.Redis
	client *redis.Client
	store  *redisstore.ExpressStore
}

func newExpressEnv(t *testing.T, opts redisstore.ExpressOptions) *expressEnv {
	t.Helper()
	srv := testserver.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	st, err := redisstore.NewExpress(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &expressEnv{srv: srv, client: client, store: st}
}

// TestExpress runs the Express-format checks shared with rueidisstore.
func TestExpress(t *testing.T) {
	redissuite.RunExpress(t, func(t *testing.T, addr string, opts redissuite.ExpressOptions) sessionkit.Store {
		client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { client.Close() })
		st, err := redisstore.NewExpress(client, redisstore.ExpressOptions(opts))
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestExpressUnavailable(t *testing.T) {
	ctx := context.Background()
	e := newExpressEnv(t, redisstore.ExpressOptions{})
	e.srv.Stop()
	now := time.Now()
	checks := map[string]error{
		"Load":   func() error { _, err := e.store.Load(ctx, "x"); return err }(),
		"Create": e.store.Create(ctx, redissuite.ExpressRecord("x", now)),
		"Update": e.store.Update(ctx, "x", sessionkit.Delta{LastSeen: now, ExpiresAt: now}),
		"Touch":  e.store.Touch(ctx, "x", now, now),
		"Delete": e.store.Delete(ctx, "x"),
	}
	for op, err := range checks {
		if !errors.Is(err, sessionkit.ErrUnavailable) {
			t.Errorf("%s with the server down: %v, want ErrUnavailable", op, err)
		}
	}
}

// TestExpressCluster runs the Cluster check of the Express format: the
// store's commands (WATCH, MULTI, pipelines) stay on one slot.
func TestExpressCluster(t *testing.T) {
	redissuite.RunExpressCluster(t, func(t *testing.T, masters []string) sessionkit.Store {
		client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: masters})
		t.Cleanup(func() { client.Close() })
		st, err := redisstore.NewExpress(client, redisstore.ExpressOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
