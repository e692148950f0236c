package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/remember/remembertest"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

func openRemember(t *testing.T, path string) *sqlitestore.RememberStore {
	t.Helper()
	r, err := sqlitestore.NewRememberStore(context.Background(), openStore(t, path, sqlitestore.Options{}), sqlitestore.RememberOptions{})
	if err != nil {
		t.Fatalf("NewRememberStore: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRememberConformance runs remembertest on a database file; the second
// instance is another Open of the same file, as a restarted process or a
// second one on the host sees it.
func TestRememberConformance(t *testing.T) {
	paths := map[remember.Store]string{}
	remembertest.Run(t, remembertest.Options{
		New: func(t *testing.T) remember.Store {
			path := filepath.Join(t.TempDir(), "sessions.db")
			r := openRemember(t, path)
			paths[r] = path
			return r
		},
		Reopen: func(t *testing.T, st remember.Store) remember.Store { return openRemember(t, paths[st]) },
	})
}

func TestRememberSchema(t *testing.T) {
	if _, err := sqlitestore.RememberSchema("bad name"); err == nil {
		t.Error("RememberSchema accepted an invalid table name")
	}
	db := openDB(t, filepath.Join(t.TempDir(), "s.db"))
	s, err := sqlitestore.New(t.Context(), db, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := db.ExecContext(t.Context(), `CREATE TABLE sessionkit_remember (selector TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlitestore.NewRememberStore(t.Context(), s, sqlitestore.RememberOptions{}); err == nil {
		t.Error("NewRememberStore accepted a table without the expected columns")
	}
	r, err := sqlitestore.NewRememberStore(t.Context(), s, sqlitestore.RememberOptions{Table: "tokens"})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}
