package memstore_test

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

func TestConformance(t *testing.T) {
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store {
			s := memstore.New(memstore.Options{})
			t.Cleanup(func() { s.Close() })
			return s
		},
	})
}

// TestExpiryIsGarbageCollection checks that the store leaves expiry to the
// manager: an expired record is returned, with its ExpiresAt, until
// DeleteExpired removes it by the real clock (here without retention), and
// a live one stays.
func TestExpiryIsGarbageCollection(t *testing.T) {
	s := memstore.New(memstore.Options{CleanupInterval: -1, KeepExpired: -1})
	defer s.Close()
	ctx := t.Context()
	now := time.Now()
	live := &sessionkit.Record{ID: "live", UserID: "u", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	dead := &sessionkit.Record{ID: "dead", UserID: "u", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(-time.Second)}
	for _, r := range []*sessionkit.Record{live, dead} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Load(ctx, dead.ID); err != nil || got == nil || !got.ExpiresAt.Equal(dead.ExpiresAt) {
		t.Fatalf("Load(expired) = %v, %v; want the record, for the manager to judge", got, err)
	}
	if list, err := s.ListByUser(ctx, "u"); err != nil || len(list) != 2 {
		t.Fatalf("ListByUser = %v, %v; want both records", list, err)
	}
	if n := s.DeleteExpired(); n != 1 {
		t.Fatalf("DeleteExpired = %d; want 1", n)
	}
	if got, _ := s.Load(ctx, dead.ID); got != nil {
		t.Fatal("DeleteExpired left the expired record")
	}
	if got, _ := s.Load(ctx, live.ID); got == nil {
		t.Fatal("DeleteExpired removed a live record")
	}
	if list, _ := s.ListByUser(ctx, "u"); len(list) != 1 || list[0].ID != live.ID {
		t.Fatalf("ListByUser after DeleteExpired = %v; want the live record", list)
	}
}

// TestLoadSharesUntilWrite checks that Loads of an unchanged session share
// one decoded record, that an Update replaces it without touching the copy
// earlier Loads hold (writes start from the decoded copy), and that loading
// allocates nothing after the first.
func TestLoadSharesUntilWrite(t *testing.T) {
	s := memstore.New(memstore.Options{})
	defer s.Close()
	ctx := t.Context()
	now := time.Now()
	rec := &sessionkit.Record{ID: "a", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour),
		Values: map[string][]byte{"n": []byte("1"), "k": []byte("v")}, Meta: map[string]string{"ip": "192.0.2.1"}}
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Load(ctx, "a")
	if again, _ := s.Load(ctx, "a"); again != first {
		t.Fatal("two Loads of an unchanged session decoded it twice")
	}
	if n := testing.AllocsPerRun(100, func() { s.Load(ctx, "a") }); n != 0 {
		t.Fatalf("Load of a decoded session allocates %v times; want 0", n)
	}
	held := first.Clone()
	if err := s.Update(ctx, "a", sessionkit.Delta{Set: map[string][]byte{"n": []byte("2")}, Del: []string{"k"}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Load(ctx, "a")
	if string(after.Values["n"]) != "2" || after.Values["k"] != nil || after.Meta["ip"] != "192.0.2.1" {
		t.Fatalf("after Update: Load sees %+v; want n=2, no k, the same Meta", after)
	}
	heldAfter := after.Clone()
	user, persistent := "u1", true
	if err := s.Update(ctx, "a", sessionkit.Delta{Clear: true, UserID: &user, Persistent: &persistent, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, "a", now.Add(time.Minute), now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, held) || !reflect.DeepEqual(after, heldAfter) {
		t.Fatalf("the writes changed records earlier Loads hold: %+v and %+v; want %+v and %+v", first, after, held, heldAfter)
	}
	if again, _ := s.Load(ctx, "a"); len(again.Values) != 0 || again.UserID != user || !again.Persistent || again.Meta["ip"] != "192.0.2.1" {
		t.Fatalf("after Clear and Touch: Load sees %+v", again)
	}
}

// TestKeepExpired checks that the cleanup keeps a record KeepExpired
// (default sessionkit.DefaultKeepExpired) after its ExpiresAt, listed by
// Iterate meanwhile so that Manager.Sweep can report it, and removes it
// after.
func TestKeepExpired(t *testing.T) {
	ctx := t.Context()
	now := time.Now()
	for _, tc := range []struct {
		name string
		keep time.Duration
		// left: whether records that expired 1 second, 4 minutes and 6
		// minutes ago are left by DeleteExpired.
		left [3]bool
	}{
		{"default", 0, [3]bool{true, true, false}},
		{"one minute", time.Minute, [3]bool{true, false, false}},
		{"none", -1, [3]bool{false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := memstore.New(memstore.Options{CleanupInterval: -1, KeepExpired: tc.keep})
			defer s.Close()
			ages := []time.Duration{time.Second, 4 * time.Minute, 6 * time.Minute}
			for i, age := range ages {
				exp := now.Add(-age)
				rec := &sessionkit.Record{ID: fmt.Sprint(i), CreatedAt: exp.Add(-time.Hour), LastSeen: exp.Add(-time.Hour), ExpiresAt: exp}
				if err := s.Create(ctx, rec); err != nil {
					t.Fatal(err)
				}
			}
			if n := iterated(t, s); n != 3 {
				t.Fatalf("Iterate before the cleanup saw %d sessions; want 3", n)
			}
			s.DeleteExpired()
			for i, want := range tc.left {
				if got, _ := s.Load(ctx, fmt.Sprint(i)); (got != nil) != want {
					t.Errorf("record expired %v ago left: %v; want %v", ages[i], got != nil, want)
				}
			}
		})
	}
}

// TestRemove checks that Remove reports true for the call that removed a
// record, false for a missing one, and keeps the user index in step.
func TestRemove(t *testing.T) {
	s := memstore.New(memstore.Options{})
	defer s.Close()
	ctx := t.Context()
	now := time.Now()
	rec := &sessionkit.Record{ID: "a", UserID: "u", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if removed, err := s.Remove(ctx, "a"); !removed || err != nil {
		t.Fatalf("Remove = %v, %v; want true, nil", removed, err)
	}
	if removed, err := s.Remove(ctx, "a"); removed || err != nil {
		t.Fatalf("second Remove = %v, %v; want false, nil", removed, err)
	}
	if list, _ := s.ListByUser(ctx, "u"); len(list) != 0 {
		t.Fatalf("ListByUser after Remove = %v; want none", list)
	}
}

// iterated returns how many sessions an iteration of s sees.
func iterated(t *testing.T, s *memstore.Store) int {
	n, cursor := 0, ""
	for {
		page, next, err := s.Iterate(t.Context(), cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page)
		if next == "" {
			return n
		}
		cursor = next
	}
}
