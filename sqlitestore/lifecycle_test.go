package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/sessiontest"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// TestRemove checks sessionkit.Remover through two stores on one file, as
// two processes would have (sessiontest.RunRemoveAcrossInstances), opened
// by Open or given a plain *sql.DB (deferred transactions) by New, and
// that Remove deletes a session's values with it.
func TestRemove(t *testing.T) {
	t.Run("Open", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sessions.db")
		sessiontest.RunRemoveAcrossInstances(t, openStore(t, path, sqlitestore.Options{}), openStore(t, path, sqlitestore.Options{}))
		if n := countRows(t, openDB(t, path), "sessionkit_sessions_values"); n != 0 {
			t.Fatalf("Remove left %d value rows", n)
		}
	})
	t.Run("New", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sessions.db")
		var stores []*sqlitestore.Store
		for range 2 {
			s, err := sqlitestore.New(context.Background(), openDB(t, path), sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			stores = append(stores, s)
		}
		sessiontest.RunRemoveAcrossInstances(t, stores[0], stores[1])
	})
}

// TestKeepExpired checks Options.KeepExpired (sessiontest.RunKeepExpired):
// the cleanup keeps an expired session that long, and Manager.Sweep can
// still find it.
func TestKeepExpired(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	sessiontest.RunKeepExpired(t, func(t *testing.T, keep, interval time.Duration) sessiontest.Collector {
		return openStore(t, path, sqlitestore.Options{CleanupInterval: interval, KeepExpired: keep})
	})
}
