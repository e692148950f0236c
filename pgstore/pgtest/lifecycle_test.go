package pgtest

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit/pgstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

// testRemove checks sessionkit.Remover across two instances on two pools
// (sessiontest.RunRemoveAcrossInstances), and that Remove deletes a
// session's values with it.
func testRemove(t *testing.T, pool *pgxpool.Pool, a, b *pgstore.Store) {
	sessiontest.RunRemoveAcrossInstances(t, a, b)
	if n := count(t, pool, "sessionkit_sessions_values"); n != 0 {
		t.Fatalf("Remove left %d value rows", n)
	}
}

// testKeepExpired checks Options.KeepExpired (sessiontest.RunKeepExpired):
// the cleanup keeps an expired session that long, and Manager.Sweep can
// still find it.
func testKeepExpired(t *testing.T, pool *pgxpool.Pool) {
	sessiontest.RunKeepExpired(t, func(t *testing.T, keep, interval time.Duration) sessiontest.Collector {
		return newStore(t, pool, pgstore.Options{CleanupInterval: interval, KeepExpired: keep})
	})
}
