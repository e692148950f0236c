package sessiontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// oddKeys are value keys that trip up naive stores: separators, operators of
// query languages, Unicode and the empty string.
var oddKeys = []string{"", ".", "a.b", "$where", "$set", "_id", "key with spaces", "ключ", "🔑", "a:b", "{tag}", "%s", "'; DROP TABLE x; --", "v:x", strings.Repeat("k", 200)}

// hostileIDs are store keys an attacker might inject if a store passed IDs
// through unescaped.
var hostileIDs = []string{"", "*", "?", "[a-z]*", "' OR '1'='1", `{"$ne":null}`, "$where", "\r\nFLUSHALL\r\n", "../../etc/passwd", "a\x00b", strings.Repeat("x", 10<<10), "{slot}"}

func runContract(t *testing.T, opts Options) {
	t.Run("LoadMissing", func(t *testing.T) {
		st := opts.New(t)
		rec, err := st.Load(ctx(t), randomID(t))
		if err != nil || rec != nil {
			t.Fatalf("Load(missing) = %v, %v; want nil, nil", rec, err)
		}
	})

	t.Run("CreateLoad", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "user-"+randomID(t))
		rec.Persistent = true
		checkCreate(t, st, rec, "of a record")
		// The store must not keep the caller's maps.
		rec.Values["name"] = []byte("changed by the caller")
		again, _ := st.Load(ctx(t), rec.ID)
		if string(again.Values["name"]) != `"gopher"` {
			t.Fatal("Create kept a reference to the caller's Values")
		}
	})

	t.Run("OddAndLargeValues", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "")
		binary := make([]byte, 256)
		for i := range binary {
			binary[i] = byte(i)
		}
		large := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
		rec.Values = map[string][]byte{"binary": binary, "large": large, "empty": {}, "nil": nil}
		for i, k := range oddKeys {
			rec.Values[k] = []byte(fmt.Sprintf(`{"i":%d}`, i))
		}
		rec.Meta = map[string]string{"ua": "Mozilla/5.0 (\"quoted\") ünïcödé", "ip": "2001:db8::1"}
		checkCreate(t, st, rec, "of odd and large values")
		// Per-key updates of odd keys, and a key set to nil, which must be
		// kept.
		d := sessionkit.Delta{Set: map[string][]byte{"$where": []byte("2"), "a.b": []byte("3"), "set to nil": nil}, Del: []string{"", "🔑"}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
		checkUpdate(t, st, rec, d, "of odd keys")
	})

	t.Run("EmptyRecord", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "")
		rec.Values, rec.Meta = nil, nil
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatalf("Create: %v", err)
		}
		got, err := st.Load(ctx(t), rec.ID)
		if err != nil || got == nil {
			t.Fatalf("Load = %v, %v", got, err)
		}
		if len(got.Values) != 0 || got.UserID != "" {
			t.Fatalf("empty record came back with values %v, user %q", got.Values, got.UserID)
		}
	})

	t.Run("CreateExisting", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "")
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		other := newRecord(t, "intruder")
		other.ID = rec.ID
		if err := st.Create(ctx(t), other); !errors.Is(err, sessionkit.ErrExists) {
			t.Fatalf("second Create = %v; want ErrExists", err)
		}
		got, _ := st.Load(ctx(t), rec.ID)
		if d := equalRecords(rec, got); d != "" {
			t.Fatalf("second Create overwrote the record: %s", d)
		}
	})

	t.Run("Update", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "")
		rec.Values["keep"] = []byte(`"kept"`)
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		user, persist := "user-"+randomID(t), true
		later := rec.LastSeen.Add(time.Minute)
		d := sessionkit.Delta{
			Set:        map[string][]byte{"name": []byte(`"renamed"`), "new": []byte(`[1,2]`)},
			Del:        []string{"n", "never-existed"},
			UserID:     &user,
			Persistent: &persist,
			LastSeen:   later, ExpiresAt: later.Add(time.Hour), AbsoluteExpiry: later.Add(48 * time.Hour),
		}
		checkUpdate(t, st, rec, d, "of values, user, flag and times")
		// Clear, then set one key, in one delta.
		d = sessionkit.Delta{Clear: true, Set: map[string][]byte{"only": []byte("1")}, LastSeen: later, ExpiresAt: later.Add(time.Hour)}
		got := checkUpdate(t, st, rec, d, "with Clear")
		// An unchanged user link and flag stay as they are.
		if got.UserID != user || !got.Persistent {
			t.Fatalf("Update without UserID/Persistent changed them: %q %v", got.UserID, got.Persistent)
		}
		// An empty UserID unlinks the user, and the flag can be turned off.
		anonymous, off := "", false
		d = sessionkit.Delta{UserID: &anonymous, Persistent: &off, LastSeen: later, ExpiresAt: later.Add(time.Hour)}
		checkUpdate(t, st, rec, d, "unlinking the user")
	})

	t.Run("UpdateMissingNeverCreates", func(t *testing.T) {
		st := opts.New(t)
		id := randomID(t)
		n := now()
		d := sessionkit.Delta{Set: map[string][]byte{"x": []byte("1")}, LastSeen: n, ExpiresAt: n.Add(time.Hour)}
		if err := st.Update(ctx(t), id, d); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Update(missing) = %v; want ErrNotFound", err)
		}
		if err := st.Touch(ctx(t), id, n, n.Add(time.Hour)); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Touch(missing) = %v; want ErrNotFound", err)
		}
		if rec, err := st.Load(ctx(t), id); rec != nil || err != nil {
			t.Fatalf("Update or Touch created a record: %v, %v", rec, err)
		}
	})

	t.Run("NoResurrectionAfterDelete", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "user-"+randomID(t))
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx(t), rec.ID); err != nil {
			t.Fatal(err)
		}
		d := sessionkit.Delta{Set: map[string][]byte{"late": []byte("1")}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
		if err := st.Update(ctx(t), rec.ID, d); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Update after Delete = %v; want ErrNotFound", err)
		}
		if err := st.Touch(ctx(t), rec.ID, rec.LastSeen, rec.ExpiresAt); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Touch after Delete = %v; want ErrNotFound", err)
		}
		if got, _ := st.Load(ctx(t), rec.ID); got != nil {
			t.Fatal("a deleted session came back")
		}
	})

	t.Run("Touch", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "user-"+randomID(t))
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		later := rec.LastSeen.Add(10 * time.Minute)
		if err := st.Touch(ctx(t), rec.ID, later, later.Add(time.Hour)); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		rec.LastSeen, rec.ExpiresAt = later, later.Add(time.Hour)
		got, _ := st.Load(ctx(t), rec.ID)
		if d := equalRecords(rec, got); d != "" {
			t.Fatalf("after Touch: %s", d)
		}
	})

	t.Run("DeleteIdempotent", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "")
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if err := st.Delete(ctx(t), rec.ID); err != nil {
				t.Fatalf("Delete #%d: %v", i+1, err)
			}
		}
		if err := st.Delete(ctx(t), randomID(t)); err != nil {
			t.Fatalf("Delete(missing): %v", err)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		st := opts.New(t)
		// A record touched into the past is gone for every operation.
		rec := newRecord(t, "")
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		past := now().Add(-time.Second)
		if err := st.Touch(ctx(t), rec.ID, past, past); err != nil {
			t.Fatalf("Touch into the past: %v", err)
		}
		if got, err := st.Load(ctx(t), rec.ID); got != nil || err != nil {
			t.Fatalf("Load(expired) = %v, %v; want nil, nil", got, err)
		}
		n := now()
		d := sessionkit.Delta{Set: map[string][]byte{"x": []byte("1")}, LastSeen: n, ExpiresAt: n.Add(time.Hour)}
		if err := st.Update(ctx(t), rec.ID, d); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Update(expired) = %v; want ErrNotFound", err)
		}
		if err := st.Touch(ctx(t), rec.ID, n, n.Add(time.Hour)); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Touch(expired) = %v; want ErrNotFound", err)
		}
		if got, _ := st.Load(ctx(t), rec.ID); got != nil {
			t.Fatal("Update or Touch revived an expired record")
		}
		// A record runs out in real time.
		rec = newRecord(t, "")
		rec.ExpiresAt = now().Add(1500 * time.Millisecond)
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Load(ctx(t), rec.ID); got == nil {
			t.Fatal("record gone before its expiry")
		}
		time.Sleep(time.Until(rec.ExpiresAt) + 100*time.Millisecond)
		if got, err := st.Load(ctx(t), rec.ID); got != nil || err != nil {
			t.Fatalf("Load after expiry = %v, %v; want nil, nil", got, err)
		}
	})

	t.Run("CreateOverExpired", func(t *testing.T) {
		// An expired record does not hold its ID: Create replaces it, and
		// nothing of the old record survives.
		st := opts.New(t)
		old := newRecord(t, "user-"+randomID(t))
		old.Persistent = true
		if err := st.Create(ctx(t), old); err != nil {
			t.Fatal(err)
		}
		past := now().Add(-time.Second)
		if err := st.Touch(ctx(t), old.ID, past, past); err != nil {
			t.Fatalf("Touch into the past: %v", err)
		}
		rec := newRecord(t, "")
		rec.ID = old.ID
		rec.Values = map[string][]byte{"only": []byte("1")}
		rec.Meta = nil
		checkCreate(t, st, rec, "over an expired record")
	})

	t.Run("HostileIDs", func(t *testing.T) {
		st := opts.New(t)
		victim := newRecord(t, "")
		if err := st.Create(ctx(t), victim); err != nil {
			t.Fatal(err)
		}
		n := now()
		for _, id := range hostileIDs {
			if rec, err := st.Load(ctx(t), id); rec != nil || err != nil {
				t.Errorf("Load(%s) = %v, %v; want nil, nil", quote(id), rec, err)
			}
			d := sessionkit.Delta{Set: map[string][]byte{"x": []byte("1")}, LastSeen: n, ExpiresAt: n.Add(time.Hour)}
			if err := st.Update(ctx(t), id, d); !errors.Is(err, sessionkit.ErrNotFound) {
				t.Errorf("Update(%s) = %v; want ErrNotFound", quote(id), err)
			}
			if err := st.Delete(ctx(t), id); err != nil {
				t.Errorf("Delete(%s) = %v", quote(id), err)
			}
		}
		if got, _ := st.Load(ctx(t), victim.ID); got == nil {
			t.Fatal("hostile IDs deleted another session")
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "")
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := st.Load(c, rec.ID); err == nil {
			t.Error("Load with a canceled context succeeded")
		}
		if err := st.Create(c, newRecord(t, "")); err == nil {
			t.Error("Create with a canceled context succeeded")
		}
		if err := st.Touch(c, rec.ID, rec.LastSeen, rec.ExpiresAt); err == nil {
			t.Error("Touch with a canceled context succeeded")
		}
		if err := st.Delete(c, rec.ID); err == nil {
			t.Error("Delete with a canceled context succeeded")
		}
	})

	t.Run("ConcurrentDeltas", func(t *testing.T) {
		st := opts.New(t)
		rec := newRecord(t, "")
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				t := now()
				d := sessionkit.Delta{Set: map[string][]byte{fmt.Sprintf("k%d", i): []byte(fmt.Sprint(i))}, LastSeen: t, ExpiresAt: t.Add(time.Hour)}
				errs <- st.Update(context.Background(), rec.ID, d)
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent Update: %v", err)
			}
		}
		got, _ := st.Load(ctx(t), rec.ID)
		for i := range n {
			if _, ok := got.Values[fmt.Sprintf("k%d", i)]; !ok {
				t.Errorf("key k%d lost by a concurrent update", i)
			}
		}
		if string(got.Values["name"]) != `"gopher"` {
			t.Error("a key no update named was lost")
		}
	})

	t.Run("ConcurrentDeleteAndUpdate", func(t *testing.T) {
		st := opts.New(t)
		for range 5 {
			rec := newRecord(t, "")
			if err := st.Create(ctx(t), rec); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					if i == 4 {
						if err := st.Delete(context.Background(), rec.ID); err != nil {
							t.Errorf("Delete: %v", err)
						}
						return
					}
					n := now()
					d := sessionkit.Delta{Set: map[string][]byte{"late": []byte("1")}, LastSeen: n, ExpiresAt: n.Add(time.Hour)}
					if err := st.Update(context.Background(), rec.ID, d); err != nil && !errors.Is(err, sessionkit.ErrNotFound) {
						t.Errorf("Update: %v", err)
					}
				})
			}
			wg.Wait()
			if got, _ := st.Load(ctx(t), rec.ID); got != nil {
				t.Fatal("an update that raced a delete brought the session back")
			}
		}
	})

	t.Run("ConcurrentCreates", func(t *testing.T) {
		st := opts.New(t)
		id := randomID(t)
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, exists := 0, 0
		for range n {
			wg.Go(func() {
				rec := newRecord(t, "")
				rec.ID = id
				err := st.Create(context.Background(), rec)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, sessionkit.ErrExists):
					exists++
				default:
					t.Errorf("concurrent Create: %v", err)
				}
			})
		}
		// Distinct IDs created at once all succeed.
		for range n {
			wg.Go(func() {
				if err := st.Create(context.Background(), newRecord(t, "")); err != nil {
					t.Errorf("concurrent Create of distinct IDs: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || exists != n-1 {
			t.Fatalf("concurrent Create of one ID: %d succeeded, %d ErrExists; want 1 and %d", ok, exists, n-1)
		}
	})
}

// checkCreate creates rec in st and checks that st then holds rec. what
// describes the record in failure messages.
func checkCreate(t *testing.T, st sessionkit.Store, rec *sessionkit.Record, what string) {
	t.Helper()
	if err := st.Create(ctx(t), rec); err != nil {
		t.Fatalf("Create %s: %v", what, err)
	}
	got, err := st.Load(ctx(t), rec.ID)
	if err != nil {
		t.Fatalf("Load after Create %s: %v", what, err)
	}
	if diff := equalRecords(rec, got); diff != "" {
		t.Fatalf("Load after Create %s: %s", what, diff)
	}
}

// checkUpdate applies d to the session rec.ID in st and to rec, checks that
// st then holds rec, and returns what st holds. what describes the update
// in failure messages.
func checkUpdate(t *testing.T, st sessionkit.Store, rec *sessionkit.Record, d sessionkit.Delta, what string) *sessionkit.Record {
	t.Helper()
	if err := st.Update(ctx(t), rec.ID, d); err != nil {
		t.Fatalf("Update %s: %v", what, err)
	}
	d.Apply(rec)
	got, err := st.Load(ctx(t), rec.ID)
	if err != nil {
		t.Fatalf("Load after Update %s: %v", what, err)
	}
	if diff := equalRecords(rec, got); diff != "" {
		t.Fatalf("after Update %s: %s", what, diff)
	}
	return got
}

// runClock checks that a store made with a fake clock decides expiry by it,
// in every operation that looks at expiry.
func runClock(t *testing.T, newStore func(t *testing.T, now func() time.Time) sessionkit.Store) {
	clk := NewClock()
	st := newStore(t, clk.Now)
	user := "user-" + randomID(t)
	live := newRecord(t, user)
	expiring := newRecord(t, user)
	expiring.ExpiresAt = clk.Now().Add(time.Minute)
	for _, rec := range []*sessionkit.Record{live, expiring} {
		if err := st.Create(ctx(t), rec); err != nil {
			t.Fatal(err)
		}
	}
	// From here on, expiring has expired by the store's clock but not by
	// the real one.
	clk.Advance(2 * time.Minute)
	n := clk.Now()
	if got, err := st.Load(ctx(t), expiring.ID); got != nil || err != nil {
		t.Fatalf("Load(expired by the clock) = %v, %v; want nil, nil", got, err)
	}
	if err := st.Touch(ctx(t), expiring.ID, n, n.Add(time.Hour)); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("Touch(expired by the clock) = %v; want ErrNotFound", err)
	}
	d := sessionkit.Delta{Set: map[string][]byte{"x": []byte("1")}, LastSeen: n, ExpiresAt: n.Add(time.Hour)}
	if err := st.Update(ctx(t), expiring.ID, d); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("Update(expired by the clock) = %v; want ErrNotFound", err)
	}
	if got, err := st.Load(ctx(t), live.ID); got == nil || err != nil {
		t.Fatalf("Load(live) = %v, %v; want the session", got, err)
	}
	if idx, ok := st.(sessionkit.UserIndex); ok {
		list, err := idx.ListByUser(ctx(t), user)
		if err != nil || len(list) != 1 || list[0].ID != live.ID {
			t.Fatalf("ListByUser = %v, %v; want only the live session", list, err)
		}
	}
	if it, ok := st.(sessionkit.Iterator); ok {
		seen := iterateAll(t, it, 100)
		if seen[live.ID] == 0 || seen[expiring.ID] != 0 {
			t.Fatalf("Iterate saw the live session %d times and the expired one %d times; want 1 and 0", seen[live.ID], seen[expiring.ID])
		}
	}
	again := newRecord(t, "")
	again.ID = expiring.ID
	if err := st.Create(ctx(t), again); err != nil {
		t.Fatalf("Create over a session expired by the clock = %v; want nil", err)
	}
}
