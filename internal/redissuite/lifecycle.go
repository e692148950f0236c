package redissuite

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redislayout"
)

// LifecycleStore is a native-layout store that removes sessions exactly
// once and iterates over them.
type LifecycleStore interface {
	sessionkit.Store
	sessionkit.Remover
	sessionkit.Iterator
	sessionkit.UserIndex
}

// RunLifecycle checks what Manager.Sweep relies on in the native layout:
// a session key outlives the session's ExpiresAt by the store's
// KeepExpired (the default, a chosen one, none), Iterate still returns an
// expired session for that long while Load, Update, Touch and ListByUser
// treat it as gone, and Remove reports true to exactly one caller, also
// among concurrent ones. newStore returns the store under test on the
// standalone server at addr, with prefix as its key prefix and keep as
// its Options.KeepExpired.
func RunLifecycle(t *testing.T, newStore func(t *testing.T, addr, prefix string, keep time.Duration) LifecycleStore) {
	r := testserver.StartRedis(t)
	for _, c := range []struct {
		name       string
		keep, want time.Duration
	}{
		{"Default", 0, sessionkit.DefaultKeepExpired},
		{"Chosen", time.Hour, time.Hour},
		{"None", -1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			prefix := "sklife:" + randomHex(4) + ":"
			st := newStore(t, r.Addr, prefix, c.keep)
			layout, err := redislayout.New(prefix)
			if err != nil {
				t.Fatal(err)
			}
			rec := lifecycleRecord("user-" + randomHex(4))
			if err := st.Create(t.Context(), rec); err != nil {
				t.Fatal(err)
			}
			checkKeyExpiry(t, r.Addr, layout.SessionKey(rec.ID), rec.ExpiresAt.Add(c.want))
			exp := time.Now().Add(time.Minute)
			if err := st.Touch(t.Context(), rec.ID, time.Now(), exp); err != nil {
				t.Fatal(err)
			}
			checkKeyExpiry(t, r.Addr, layout.SessionKey(rec.ID), exp.Add(c.want))
			if c.want > 0 {
				checkExpiredKept(t, st, rec)
			}
			user := "user-" + randomHex(4)
			RunRemove(t, st, func() *sessionkit.Record { return lifecycleRecord(user) })
		})
	}
}

// lifecycleRecord returns a live session of user.
func lifecycleRecord(user string) *sessionkit.Record {
	now := time.Now()
	return &sessionkit.Record{
		ID: randomHex(16), UserID: user, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(time.Hour), Values: map[string][]byte{"k": []byte("v")},
	}
}

// checkKeyExpiry checks that key expires at want, to the second.
func checkKeyExpiry(t *testing.T, addr, key string, want time.Time) {
	t.Helper()
	out, err := testserver.RedisDo(addr, "PTTL", key)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		t.Fatalf("PTTL %s = %q", key, out)
	}
	if got := time.Now().Add(time.Duration(ms) * time.Millisecond); got.Sub(want).Abs() > time.Second {
		t.Fatalf("key expires at %v (PTTL %d ms), want %v", got, ms, want)
	}
}

// checkExpiredKept expires rec by a Touch into the past and checks that
// Iterate still returns it, with its ExpiresAt, while every other
// operation treats it as gone, until Remove removes it.
func checkExpiredKept(t *testing.T, st LifecycleStore, rec *sessionkit.Record) {
	t.Helper()
	ctx := t.Context()
	past := time.Now().Add(-time.Second)
	if err := st.Touch(ctx, rec.ID, past, past); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Load(ctx, rec.ID); got != nil || err != nil {
		t.Fatalf("Load(expired) = %v, %v; want nil, nil", got, err)
	}
	if list, err := st.ListByUser(ctx, rec.UserID); len(list) != 0 || err != nil {
		t.Fatalf("ListByUser with only an expired session = %v, %v; want none", list, err)
	}
	now := time.Now()
	if err := st.Touch(ctx, rec.ID, now, now.Add(time.Hour)); err != sessionkit.ErrNotFound {
		t.Fatalf("Touch(expired) = %v; want ErrNotFound", err)
	}
	d := sessionkit.Delta{Set: map[string][]byte{"x": []byte("1")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	if err := st.Update(ctx, rec.ID, d); err != sessionkit.ErrNotFound {
		t.Fatalf("Update(expired) = %v; want ErrNotFound", err)
	}
	// The scripts compare the expiry digit by digit: shorter and negative
	// numbers, the zero time, a nanosecond before now, and a far expiry (no
	// later than 2262, the end of int64 nanoseconds).
	for _, c := range []struct {
		exp  time.Time
		live bool
	}{
		{time.Time{}, false},
		{time.Unix(-5, 0), false},
		{time.Unix(5, 0), false},
		{now.Add(-time.Nanosecond), false},
		{now.Add(time.Hour), true},
		{time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), true},
	} {
		other := lifecycleRecord(rec.UserID)
		if err := st.Create(ctx, other); err != nil {
			t.Fatal(err)
		}
		if err := st.Touch(ctx, other.ID, now, c.exp); err != nil {
			t.Fatalf("Touch to %v: %v", c.exp, err)
		}
		err := st.Update(ctx, other.ID, d)
		if c.live && err != nil {
			t.Errorf("Update of a session that expires at %v = %v; want nil", c.exp, err)
		}
		if !c.live && err != sessionkit.ErrNotFound {
			t.Errorf("Update of a session that expired at %v = %v; want ErrNotFound", c.exp, err)
		}
		if _, err := st.Remove(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
	}
	found := iterateFind(t, st, rec.ID)
	if found == nil {
		t.Fatal("Iterate does not return the expired session its store keeps")
	}
	if !found.ExpiresAt.Equal(past) || found.UserID != rec.UserID {
		t.Fatalf("Iterate returned %+v; want ExpiresAt %v and user %s", found, past, rec.UserID)
	}
	if ok, err := st.Remove(ctx, rec.ID); !ok || err != nil {
		t.Fatalf("Remove(expired) = %v, %v; want true", ok, err)
	}
	if iterateFind(t, st, rec.ID) != nil {
		t.Fatal("Iterate returns a removed session")
	}
}

// iterateFind pages through st and returns the entry of id, or nil.
func iterateFind(t *testing.T, st sessionkit.Iterator, id string) *sessionkit.SessionInfo {
	t.Helper()
	var found *sessionkit.SessionInfo
	cursor := ""
	for {
		page, next, err := st.Iterate(t.Context(), cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range page {
			if info.ID == id {
				found = &info
			}
		}
		if next == "" {
			return found
		}
		cursor = next
	}
}

// RemoveStore is a store that removes sessions exactly once.
type RemoveStore interface {
	sessionkit.Store
	sessionkit.Remover
}

// RunRemove checks that Remove reports true once, then false, and that of
// concurrent Removes of one session exactly one reports true; with a user
// index, that the removed sessions leave it. newRecord returns a new
// session for st, always of the same user.
func RunRemove(t *testing.T, st RemoveStore, newRecord func() *sessionkit.Record) {
	t.Helper()
	ctx := t.Context()
	rec := newRecord()
	if err := st.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Remove(ctx, rec.ID); !ok || err != nil {
		t.Fatalf("Remove = %v, %v; want true", ok, err)
	}
	if ok, err := st.Remove(ctx, rec.ID); ok || err != nil {
		t.Fatalf("second Remove = %v, %v; want false", ok, err)
	}
	if ok, err := st.Remove(ctx, randomHex(16)); ok || err != nil {
		t.Fatalf("Remove(missing) = %v, %v; want false", ok, err)
	}
	for range 20 {
		rec := newRecord()
		if err := st.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			removed int
		)
		for range 8 {
			wg.Go(func() {
				ok, err := st.Remove(ctx, rec.ID)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if ok {
					removed++
				}
			})
		}
		wg.Wait()
		if removed != 1 {
			t.Fatalf("%d of 8 concurrent Removes reported true; want 1", removed)
		}
		if got, _ := st.Load(ctx, rec.ID); got != nil {
			t.Fatal("a removed session still loads")
		}
	}
	if idx, ok := st.(sessionkit.UserIndex); ok && rec.UserID != "" {
		if list, err := idx.ListByUser(ctx, rec.UserID); len(list) != 0 || err != nil {
			t.Fatalf("ListByUser after the Removes = %v, %v; want none", list, err)
		}
	}
}
