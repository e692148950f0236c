package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/sessiontest"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// twoStores runs f with two stores on one database file, as two processes
// would have them, each with its own write lock: opened by Open
// (immediate transactions), and given a plain *sql.DB (deferred
// transactions) by New. path is the file.
func twoStores(t *testing.T, f func(t *testing.T, path string, a, b *sqlitestore.Store)) {
	t.Run("Open", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sessions.db")
		f(t, path, openStore(t, path, sqlitestore.Options{}), openStore(t, path, sqlitestore.Options{}))
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
		f(t, path, stores[0], stores[1])
	})
}

// TestRemove checks sessionkit.Remover through two stores on one file
// (sessiontest.RunRemoveAcrossInstances), and that Remove deletes a
// session's values with it.
func TestRemove(t *testing.T) {
	twoStores(t, func(t *testing.T, path string, a, b *sqlitestore.Store) {
		sessiontest.RunRemoveAcrossInstances(t, a, b)
		if n := countRows(t, openDB(t, path), "sessionkit_sessions_values"); n != 0 {
			t.Fatalf("Remove left %d value rows", n)
		}
	})
}

// TestConcurrentLinksAcrossStores checks the session limit through two
// stores on one file (sessiontest.RunLinkAcrossInstances): of concurrent
// links under a limit of 3, exactly 3 stay.
func TestConcurrentLinksAcrossStores(t *testing.T) {
	twoStores(t, func(t *testing.T, _ string, a, b *sqlitestore.Store) {
		sessiontest.RunLinkAcrossInstances(t, a, b)
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
