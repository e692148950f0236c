package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/cookiestore/revocationstest"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

func openRevocations(t *testing.T, path string, opts sqlitestore.RevocationsOptions) *sqlitestore.Revocations {
	t.Helper()
	r, err := sqlitestore.OpenRevocations(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("OpenRevocations: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRevocations runs the cookie-store revocation conformance suite: every
// handle is a Revocations of its own on the same database file, as another
// app process or a restarted one would open.
func TestRevocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocations.db")
	revocationstest.Run(t, revocationstest.Options{
		New: func(t *testing.T) cookiestore.Revocations {
			return openRevocations(t, path, sqlitestore.RevocationsOptions{CleanupInterval: -1})
		},
		// A database that another process holds exclusively, beyond the
		// busy timeout. With a rollback journal (not WAL), an exclusive
		// lock keeps readers out too.
		Unavailable: func(t *testing.T) cookiestore.Revocations {
			path := filepath.Join(t.TempDir(), "locked.db")
			db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(100)&_pragma=journal_mode(DELETE)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			r, err := sqlitestore.NewRevocations(context.Background(), db, sqlitestore.RevocationsOptions{CleanupInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			lockExclusively(t, path)
			return r
		},
	})
}

// lockExclusively makes another connection hold an exclusive lock on
// path's database until the test ends.
func lockExclusively(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, stmt := range []string{"BEGIN EXCLUSIVE", "DELETE FROM sessionkit_revocations"} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() { conn.ExecContext(ctx, "ROLLBACK") })
}

// TestRevocationsCleanup checks that the cleanup goroutine deletes entries
// once their deadline has passed, and only those.
func TestRevocationsCleanup(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "revocations.db")
	r := openRevocations(t, path, sqlitestore.RevocationsOptions{CleanupInterval: 20 * time.Millisecond})
	now := time.Now()
	if err := r.Revoke(ctx, "short", "alice", now.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := r.RevokeUser(ctx, "bob", now, now.Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if err := r.Revoke(ctx, "long", "alice", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	db := openDB(t, path)
	if n := countRows(t, db, sqlitestore.DefaultRevocationsTable); n != 3 {
		t.Fatalf("%d rows, want 3", n)
	}
	waitFor(t, func() bool { return countRows(t, db, sqlitestore.DefaultRevocationsTable) == 1 })
	if ok, err := r.Revoked(ctx, &sessionkit.Record{ID: "long", CreatedAt: now}); err != nil || !ok {
		t.Fatalf("Revoked(long) = %v, %v after the cleanup; want true", ok, err)
	}
}
