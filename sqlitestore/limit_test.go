package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// TestConcurrentLinksAcrossStores links 16 sessions of one user at once,
// half through each of two stores on the same file (as two processes
// would, each with its own write lock), under a limit of 3: exactly 3 get
// linked, whether the stores run immediate transactions (Open) or the
// deferred ones of a plain *sql.DB (New).
func TestConcurrentLinksAcrossStores(t *testing.T) {
	t.Run("Open", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sessions.db")
		testConcurrentLinks(t, openStore(t, path, sqlitestore.Options{}), openStore(t, path, sqlitestore.Options{}))
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
		testConcurrentLinks(t, stores[0], stores[1])
	})
}

func testConcurrentLinks(t *testing.T, s1, s2 *sqlitestore.Store) {
	ctx := context.Background()
	now := time.Now()
	const n, limit = 16, 3
	ids := make([]string, n)
	for i := range ids {
		rec := newRecord(now.Add(-time.Duration(n-i)*time.Minute), "")
		if err := s1.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		ids[i] = rec.ID
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, id := range ids {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			<-start
			_, errs[i] = s.LinkUser(ctx, id, "dave", limit, false, now)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, sessionkit.ErrTooManySessions):
			t.Fatalf("LinkUser = %v", err)
		}
	}
	list, err := s1.ListByUser(ctx, "dave")
	if err != nil {
		t.Fatal(err)
	}
	if ok != limit || len(list) != limit {
		t.Fatalf("%d links succeeded and the user has %d sessions after %d concurrent links; want %d", ok, len(list), n, limit)
	}
}
