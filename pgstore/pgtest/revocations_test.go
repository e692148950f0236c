package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/cookiestore/revocationstest"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/pgstore"
)

func newRevocations(t *testing.T, pool *pgxpool.Pool, opts pgstore.RevocationsOptions) *pgstore.Revocations {
	t.Helper()
	r, err := pgstore.NewRevocations(context.Background(), pool, opts)
	if err != nil {
		t.Fatalf("NewRevocations: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRevocations runs the cookie-store revocation conformance suite: every
// handle has a connection pool of its own to the same database, as another
// app instance or a restarted one would.
func TestRevocations(t *testing.T) {
	pg := testserver.StartPostgres(t)
	dsn := pg.CreateDatabase(t, "revocations")
	revocationstest.Run(t, revocationstest.Options{
		New: func(t *testing.T) cookiestore.Revocations {
			return newRevocations(t, newPool(t, dsn), pgstore.RevocationsOptions{CleanupInterval: -1})
		},
		// A server stopped under a working list.
		Unavailable: func(t *testing.T) cookiestore.Revocations {
			down := testserver.StartPostgres(t)
			r := newRevocations(t, newPool(t, down.DSN), pgstore.RevocationsOptions{CleanupInterval: -1})
			down.Stop()
			return r
		},
	})

	// The cleanup goroutine deletes entries once their deadline has
	// passed, and only those.
	t.Run("Cleanup", func(t *testing.T) {
		ctx := context.Background()
		pool := newPool(t, pg.CreateDatabase(t, "revocations_cleanup"))
		r := newRevocations(t, pool, pgstore.RevocationsOptions{CleanupInterval: 20 * time.Millisecond})
		now := time.Now()
		for _, err := range []error{
			r.Revoke(ctx, "short", "alice", now.Add(100*time.Millisecond)),
			r.RevokeUser(ctx, "bob", now, now.Add(100*time.Millisecond)),
			r.Revoke(ctx, "long", "alice", now.Add(time.Hour)),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, pool, pgstore.DefaultRevocationsTable); n != 3 {
			t.Fatalf("%d rows, want 3", n)
		}
		deadline := time.Now().Add(5 * time.Second)
		for count(t, pool, pgstore.DefaultRevocationsTable) != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("%d rows 5 s later, want 1", count(t, pool, pgstore.DefaultRevocationsTable))
			}
			time.Sleep(10 * time.Millisecond)
		}
		if ok, err := r.Revoked(ctx, &sessionkit.Record{ID: "long", CreatedAt: now}); err != nil || !ok {
			t.Fatalf("Revoked(long) = %v, %v after the cleanup; want true", ok, err)
		}
	})
}
