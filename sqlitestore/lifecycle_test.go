package sqlitestore_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// TestRemove checks sessionkit.Remover through two stores on one file, as
// two processes would have, opened by Open or given a plain *sql.DB
// (deferred transactions) by New.
func TestRemove(t *testing.T) {
	t.Run("Open", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sessions.db")
		testRemove(t, path, openStore(t, path, sqlitestore.Options{}), openStore(t, path, sqlitestore.Options{}))
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
		testRemove(t, path, stores[0], stores[1])
	})
}

// testRemove checks that Remove deletes a session with its values and its
// place in the user index, reports true once and false after, and that of
// concurrent Removes of one session from a and b, stores on the database
// file at path, exactly one reports true.
func testRemove(t *testing.T, path string, a, b *sqlitestore.Store) {
	ctx := context.Background()
	rec := newRecord(time.Now(), "erin")
	if err := a.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if removed, err := a.Remove(ctx, rec.ID); err != nil || !removed {
		t.Fatalf("Remove = %v, %v; want true, nil", removed, err)
	}
	if got, err := b.Load(ctx, rec.ID); err != nil || got != nil {
		t.Fatalf("Load after Remove = %v, %v; want nil, nil", got, err)
	}
	if list, err := a.ListByUser(ctx, "erin"); err != nil || len(list) != 0 {
		t.Fatalf("ListByUser after Remove = %v, %v; want none", list, err)
	}
	if n := countRows(t, openDB(t, path), "sessionkit_sessions_values"); n != 0 {
		t.Fatalf("Remove left %d value rows", n)
	}
	for _, s := range []*sqlitestore.Store{a, b} {
		if removed, err := s.Remove(ctx, rec.ID); err != nil || removed {
			t.Fatalf("Remove of a removed session = %v, %v; want false, nil", removed, err)
		}
	}
	if err := a.Delete(ctx, rec.ID); err != nil {
		t.Fatalf("Delete after Remove: %v", err)
	}
	for _, id := range []string{newID(), "", "\xff"} {
		if removed, err := a.Remove(ctx, id); err != nil || removed {
			t.Fatalf("Remove(%q) of a missing session = %v, %v; want false, nil", id, removed, err)
		}
	}

	// An expired session, as Manager.Sweep finds it, is removed the same way.
	expired := newRecord(time.Now(), "erin")
	expired.ExpiresAt = time.Now().Add(-time.Minute)
	if err := a.Create(ctx, expired); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if removed, err := a.Remove(canceled, expired.ID); removed || !errors.Is(err, context.Canceled) {
		t.Fatalf("Remove with a canceled context = %v, %v; want false, context.Canceled", removed, err)
	}
	if removed, err := b.Remove(ctx, expired.ID); err != nil || !removed {
		t.Fatalf("Remove of an expired session = %v, %v; want true, nil", removed, err)
	}

	// Concurrent Removes from two stores: one winner per session.
	const rounds, callers = 20, 16
	for range rounds {
		rec := newRecord(time.Now(), "frank")
		if err := a.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		var (
			wins  atomic.Int32
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i := range callers {
			s := []*sqlitestore.Store{a, b}[i%2]
			wg.Go(func() {
				<-start
				removed, err := s.Remove(ctx, rec.ID)
				if err != nil {
					t.Error(err)
				}
				if removed {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d concurrent Removes of one session reported true %d times, want once", callers, n)
		}
	}
}

// TestKeepExpired checks that the cleanup keeps an expired session for
// Options.KeepExpired, during which Iterate and ListByUser return it, and
// deletes it after.
func TestKeepExpired(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	now := time.Now()
	s := openStore(t, path, sqlitestore.Options{CleanupInterval: -1, KeepExpired: time.Hour})
	live := newRecord(now, "gina")
	kept := newRecord(now, "gina")
	kept.ExpiresAt = now.Add(-59 * time.Minute)
	old := newRecord(now, "gina")
	old.ExpiresAt = now.Add(-61 * time.Minute)
	for _, r := range []*sessionkit.Record{live, kept, old} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired with KeepExpired 1h = %d, %v; want 1 (the session expired 61 minutes ago)", n, err)
	}
	if got := iterateIDs(t, s); !sameIDs(got, live.ID, kept.ID) {
		t.Fatalf("Iterate = %q, want the live and the kept session %q", got, []string{live.ID, kept.ID})
	}
	list, err := s.ListByUser(ctx, "gina")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListByUser = %v, %v; want the live and the kept session", list, err)
	}
	if removed, err := s.Remove(ctx, kept.ID); err != nil || !removed {
		t.Fatalf("Remove of the kept session = %v, %v; want true", removed, err)
	}

	// The default is sessionkit.DefaultKeepExpired.
	d := openStore(t, path, sqlitestore.Options{CleanupInterval: -1})
	within := newRecord(now, "")
	within.ExpiresAt = now.Add(-sessionkit.DefaultKeepExpired + time.Minute)
	beyond := newRecord(now, "")
	beyond.ExpiresAt = now.Add(-sessionkit.DefaultKeepExpired - time.Minute)
	for _, r := range []*sessionkit.Record{within, beyond} {
		if err := d.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired with the default KeepExpired = %d, %v; want 1", n, err)
	}
	if got, err := d.Load(ctx, within.ID); err != nil || got == nil {
		t.Fatalf("the default cleanup deleted a session expired for less than DefaultKeepExpired: %v, %v", got, err)
	}
	if err := d.Delete(ctx, within.ID); err != nil {
		t.Fatal(err)
	}

	// The cleanup goroutine keeps a session that just expired for
	// KeepExpired and deletes it afterwards.
	const keep = 500 * time.Millisecond
	g := openStore(t, path, sqlitestore.Options{CleanupInterval: 10 * time.Millisecond, KeepExpired: keep})
	rec := newRecord(time.Now(), "")
	rec.ExpiresAt = time.Now()
	if err := g.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several passes
	if !slices.Contains(iterateIDs(t, g), rec.ID) {
		t.Fatal("the cleanup goroutine deleted a session expired for less than KeepExpired")
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, err := g.Load(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cleanup goroutine kept a session expired for more than KeepExpired (%v) plus 2s", keep)
		}
	}
	if gone := time.Since(rec.ExpiresAt); gone < keep {
		t.Fatalf("the session was deleted %v after its expiry, before KeepExpired (%v)", gone, keep)
	}
}

// iterateIDs returns the IDs of every session that s.Iterate returns, in
// pages of two.
func iterateIDs(t *testing.T, s sessionkit.Iterator) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		page, next, err := s.Iterate(context.Background(), cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range page {
			ids = append(ids, info.ID)
		}
		if next == "" {
			return ids
		}
		cursor = next
	}
}

// sameIDs reports whether got holds exactly want, in any order.
func sameIDs(got []string, want ...string) bool {
	return len(got) == len(want) && !slices.ContainsFunc(want, func(id string) bool { return !slices.Contains(got, id) })
}
