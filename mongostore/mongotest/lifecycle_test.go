package mongotest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestRemove checks sessionkit.Remover through two Stores with clients of
// their own on one collection, as two instances would have: Remove deletes
// a session and its place in the user index, reports true once and false
// after, and of concurrent Removes of one session exactly one reports true.
func TestRemove(t *testing.T) {
	srv := ferretdbtest.Start(t)
	a, coll := newStore(t, srv, mongostore.Options{})
	b, err := mongostore.New(context.Background(), connect(t, srv).Database(coll.Database().Name()), mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
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
	for _, s := range []*mongostore.Store{a, b} {
		if removed, err := s.Remove(ctx, rec.ID); err != nil || removed {
			t.Fatalf("Remove of a removed session = %v, %v; want false, nil", removed, err)
		}
	}
	if err := a.Delete(ctx, rec.ID); err != nil {
		t.Fatalf("Delete after Remove: %v", err)
	}
	for _, id := range []string{randomID(), ""} {
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

	// Concurrent Removes from two instances: one winner per session.
	const rounds, callers = 10, 16
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
			s := []*mongostore.Store{a, b}[i%2]
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

// TestKeepExpired checks that the clean-up keeps an expired session for
// Options.KeepExpired, during which Iterate and ListByUser return it, and
// deletes it after. FerretDB has no TTL indexes, so this is the Store's own
// clean-up; TestMongoDBTTLIndex checks the TTL index's expireAfterSeconds.
func TestKeepExpired(t *testing.T) {
	srv := ferretdbtest.Start(t)
	ctx := context.Background()
	now := time.Now()
	s, coll := newStore(t, srv, mongostore.Options{CleanupInterval: -1, KeepExpired: time.Hour})
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
	d, err := mongostore.New(ctx, coll.Database(), mongostore.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
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
		t.Fatalf("the default clean-up deleted a session expired for less than DefaultKeepExpired: %v, %v", got, err)
	}
	if err := d.Delete(ctx, within.ID); err != nil {
		t.Fatal(err)
	}

	// The clean-up goroutine keeps a session that just expired for
	// KeepExpired and deletes it afterwards.
	const keep = 500 * time.Millisecond
	g, err := mongostore.New(ctx, coll.Database(), mongostore.Options{CleanupInterval: 10 * time.Millisecond, KeepExpired: keep})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rec := newRecord(time.Now(), "")
	rec.ExpiresAt = time.Now().Truncate(time.Millisecond) // as stored
	if err := g.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several passes
	if !slices.Contains(iterateIDs(t, g), rec.ID) {
		t.Fatal("the clean-up goroutine deleted a session expired for less than KeepExpired")
	}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n, err := coll.CountDocuments(ctx, bson.D{{Key: "_id", Value: rec.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the clean-up goroutine kept a session expired for more than KeepExpired (%v) plus 2s", keep)
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
