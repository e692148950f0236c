package sessiontest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// Collector is a store whose garbage collection can run on demand, such as
// sqlitestore, pgstore and mongostore with their DeleteExpired methods.
type Collector interface {
	sessionkit.Store
	sessionkit.Iterator
	sessionkit.UserIndex
	sessionkit.Remover
	// DeleteExpired deletes the records that expired more than the store's
	// KeepExpired ago and returns how many it deleted.
	DeleteExpired(ctx context.Context) (int, error)
}

// RunKeepExpired checks a store's KeepExpired retention, on which
// Manager.Sweep relies: the garbage collection keeps an expired record for
// KeepExpired, meanwhile Iterate and ListByUser return it and Remove ends
// it, and deletes it afterwards, both on demand and in the background.
//
// open returns a store on one backend, the same for every call of one
// test and empty at the first, whose KeepExpired is keep (0: the default,
// sessionkit.DefaultKeepExpired) and whose background collection runs
// every interval (negative: never).
func RunKeepExpired(t *testing.T, open func(t *testing.T, keep, interval time.Duration) Collector) {
	ctx := context.Background()
	now := time.Now()
	s := open(t, time.Hour, -1)
	live, kept, old := newRecord(t, "gina"), newRecord(t, "gina"), newRecord(t, "gina")
	kept.ExpiresAt = now.Add(-59 * time.Minute)
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
	if list, err := s.ListByUser(ctx, "gina"); err != nil || len(list) != 2 {
		t.Fatalf("ListByUser = %v, %v; want the live and the kept session", list, err)
	}
	if removed, err := s.Remove(ctx, kept.ID); err != nil || !removed {
		t.Fatalf("Remove of the kept session = %v, %v; want true", removed, err)
	}

	// The default is sessionkit.DefaultKeepExpired.
	d := open(t, 0, -1)
	within, beyond := newRecord(t, ""), newRecord(t, "")
	within.ExpiresAt = now.Add(-sessionkit.DefaultKeepExpired + time.Minute)
	beyond.ExpiresAt = now.Add(-sessionkit.DefaultKeepExpired - time.Minute)
	for _, r := range []*sessionkit.Record{within, beyond} {
		if err := d.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := d.DeleteExpired(ctx); err != nil || n != 1 {
		t.Fatalf("DeleteExpired with the default KeepExpired = %d, %v; want 1", n, err)
	}
	if !slices.Contains(iterateIDs(t, d), within.ID) {
		t.Fatal("the default collection deleted a session expired for less than DefaultKeepExpired")
	}
	if err := d.Delete(ctx, within.ID); err != nil {
		t.Fatal(err)
	}

	// The background collection keeps a session that just expired for
	// KeepExpired and deletes it afterwards.
	const keep = 500 * time.Millisecond
	g := open(t, keep, 10*time.Millisecond)
	rec := newRecord(t, "")
	rec.ExpiresAt = now.Truncate(time.Millisecond)
	if err := g.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several passes
	if !slices.Contains(iterateIDs(t, g), rec.ID) {
		t.Fatal("the background collection deleted a session expired for less than KeepExpired")
	}
	for deadline := time.Now().Add(2 * time.Second); slices.Contains(iterateIDs(t, g), rec.ID); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the background collection kept a session expired for more than KeepExpired (%v) plus 2s", keep)
		}
	}
	if gone := time.Since(rec.ExpiresAt); gone < keep {
		t.Fatalf("the session was deleted %v after its expiry, before KeepExpired (%v)", gone, keep)
	}
}

// RunRemoveAcrossInstances checks sessionkit.Remover between two instances
// a and b of one store on one backend (two pools, clients or handles), as
// two processes have them: Remove on a reports true once, then false on
// both; Remove of a missing ID or with a canceled context removes nothing;
// an expired session is removed like any other; and of 16 concurrent
// Removes of one session, split over a and b, exactly one reports true,
// in each of 20 rounds. With a UserIndex, the removed session leaves the
// user's listing.
func RunRemoveAcrossInstances(t *testing.T, a, b sessionkit.Store) {
	ra, okA := a.(sessionkit.Remover)
	rb, okB := b.(sessionkit.Remover)
	if !okA || !okB {
		t.Fatal("the store does not implement sessionkit.Remover")
	}
	ctx := context.Background()
	rec := newRecord(t, "erin")
	if err := a.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if removed, err := ra.Remove(ctx, rec.ID); err != nil || !removed {
		t.Fatalf("Remove = %v, %v; want true, nil", removed, err)
	}
	if got, err := b.Load(ctx, rec.ID); err != nil || got != nil {
		t.Fatalf("Load on the other instance after Remove = %v, %v; want nil, nil", got, err)
	}
	if idx, ok := b.(sessionkit.UserIndex); ok {
		if list, err := idx.ListByUser(ctx, "erin"); err != nil || len(list) != 0 {
			t.Fatalf("ListByUser after Remove = %v, %v; want none", list, err)
		}
	}
	for _, r := range []sessionkit.Remover{ra, rb} {
		if removed, err := r.Remove(ctx, rec.ID); err != nil || removed {
			t.Fatalf("Remove of a removed session = %v, %v; want false, nil", removed, err)
		}
	}
	if err := a.Delete(ctx, rec.ID); err != nil {
		t.Fatalf("Delete after Remove: %v", err)
	}
	for _, id := range append([]string{randomID(t)}, hostileIDs...) {
		if removed, err := ra.Remove(ctx, id); err != nil || removed {
			t.Fatalf("Remove(%q) of a missing session = %v, %v; want false, nil", id, removed, err)
		}
	}

	// An expired session, as Manager.Sweep finds it, is removed the same way.
	expired := newRecord(t, "erin")
	expired.ExpiresAt = time.Now().Add(-time.Minute)
	if err := a.Create(ctx, expired); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if removed, err := ra.Remove(canceled, expired.ID); removed || !errors.Is(err, context.Canceled) {
		t.Fatalf("Remove with a canceled context = %v, %v; want false, context.Canceled", removed, err)
	}
	if removed, err := rb.Remove(ctx, expired.ID); err != nil || !removed {
		t.Fatalf("Remove of an expired session = %v, %v; want true, nil", removed, err)
	}

	const rounds, callers = 20, 16
	for range rounds {
		rec := newRecord(t, "frank")
		if err := a.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		var (
			wins  atomic.Int32
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for i := range callers {
			r := []sessionkit.Remover{ra, rb}[i%2]
			wg.Go(func() {
				<-start
				removed, err := r.Remove(ctx, rec.ID)
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
			t.Fatalf("%d concurrent Removes of one session on two instances reported true %d times, want once", callers, n)
		}
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

// RunLinkAcrossInstances checks sessionkit.SessionLimiter between two
// instances a and b of one store on one backend: 32 sessions of one user
// are linked at once, half through each instance, under a limit of 3,
// first refusing and then evicting; either way the user ends with exactly
// 3 live sessions, and under RejectNew exactly 3 links succeed.
func RunLinkAcrossInstances(t *testing.T, a, b sessionkit.Store) {
	la, okA := a.(sessionkit.SessionLimiter)
	lb, okB := b.(sessionkit.SessionLimiter)
	if !okA || !okB {
		t.Fatal("the store does not implement sessionkit.SessionLimiter")
	}
	for _, evict := range []bool{false, true} {
		checkLimitConcurrent(t, a, evict, 32, la, lb)
	}
}
