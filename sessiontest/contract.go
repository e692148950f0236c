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

// contractChecks are the behaviours of sessionkit.Store that every store
// must have, each run as a subtest of Contract under its name.
var contractChecks = []storeCheck{
	{"LoadMissing", checkLoadMissing},
	{"CreateLoad", checkCreateLoad},
	{"OddAndLargeValues", checkOddAndLargeValues},
	{"EmptyRecord", checkEmptyRecord},
	{"CreateExisting", checkCreateExisting},
	{"Update", checkUpdate},
	{"UpdateMissingNeverCreates", checkUpdateMissingNeverCreates},
	{"NoResurrectionAfterDelete", checkNoResurrectionAfterDelete},
	{"Touch", checkTouch},
	{"DeleteIdempotent", checkDeleteIdempotent},
	{"Expiry", checkExpiry},
	{"CreateOverExpired", checkCreateOverExpired},
	{"HostileIDs", checkHostileIDs},
	{"CanceledContext", checkCanceledContext},
	{"DeadlineExceeded", checkDeadlineExceeded},
	{"ConcurrentDeltas", checkConcurrentDeltas},
	{"ConcurrentDeleteAndUpdate", checkConcurrentDeleteAndUpdate},
	{"ConcurrentCreates", checkConcurrentCreates},
}

// checkLoadMissing checks that Load of an ID that was never stored is (nil,
// nil).
func checkLoadMissing(t *testing.T, st sessionkit.Store) {
	rec, err := st.Load(ctx(t), randomID(t))
	if err != nil || rec != nil {
		t.Fatalf("Load(missing) = %v, %v; want nil, nil", rec, err)
	}
}

// checkCreateLoad checks that a created record loads back exactly, and the
// store keeps no reference to the caller's maps.
func checkCreateLoad(t *testing.T, st sessionkit.Store) {
	rec := newRecord(t, "user-"+randomID(t))
	rec.Persistent = true
	createAndVerify(t, st, rec, "of a record")
	// The store must not keep the caller's maps.
	rec.Values["name"] = []byte("changed by the caller")
	again, _ := st.Load(ctx(t), rec.ID)
	if string(again.Values["name"]) != `"gopher"` {
		t.Fatal("Create kept a reference to the caller's Values")
	}
}

// checkOddAndLargeValues checks that binary, empty, nil and 256 KiB values,
// keys that trip up naive stores, and per-key updates of them.
func checkOddAndLargeValues(t *testing.T, st sessionkit.Store) {
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
	createAndVerify(t, st, rec, "of odd and large values")
	// Per-key updates of odd keys, and a key set to nil, which must be
	// kept.
	d := sessionkit.Delta{Set: map[string][]byte{"$where": []byte("2"), "a.b": []byte("3"), "set to nil": nil}, Del: []string{"", "🔑"}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
	updateAndVerify(t, st, rec, d, "of odd keys")
}

// checkEmptyRecord checks that a record without values, metadata or user.
func checkEmptyRecord(t *testing.T, st sessionkit.Store) {
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
}

// checkCreateExisting checks that Create over a live record returns
// ErrExists and changes nothing.
func checkCreateExisting(t *testing.T, st sessionkit.Store) {
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
}

// checkUpdate checks that Update writes the keys, user, flag and times a
// delta names, Clear, and unlinking the user.
func checkUpdate(t *testing.T, st sessionkit.Store) {
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
	updateAndVerify(t, st, rec, d, "of values, user, flag and times")
	// Clear, then set one key, in one delta.
	d = sessionkit.Delta{Clear: true, Set: map[string][]byte{"only": []byte("1")}, LastSeen: later, ExpiresAt: later.Add(time.Hour)}
	got := updateAndVerify(t, st, rec, d, "with Clear")
	// An unchanged user link and flag stay as they are.
	if got.UserID != user || !got.Persistent {
		t.Fatalf("Update without UserID/Persistent changed them: %q %v", got.UserID, got.Persistent)
	}
	// An empty UserID unlinks the user, and the flag can be turned off.
	anonymous, off := "", false
	d = sessionkit.Delta{UserID: &anonymous, Persistent: &off, LastSeen: later, ExpiresAt: later.Add(time.Hour)}
	updateAndVerify(t, st, rec, d, "unlinking the user")
}

// checkUpdateMissingNeverCreates checks that Update and Touch of a missing
// ID return ErrNotFound and create nothing.
func checkUpdateMissingNeverCreates(t *testing.T, st sessionkit.Store) {
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
}

// checkNoResurrectionAfterDelete checks that Update and Touch after Delete
// return ErrNotFound and bring nothing back.
func checkNoResurrectionAfterDelete(t *testing.T, st sessionkit.Store) {
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
}

// checkTouch checks that Touch moves LastSeen and ExpiresAt and nothing else.
func checkTouch(t *testing.T, st sessionkit.Store) {
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
}

// checkDeleteIdempotent checks that deleting twice, or deleting a missing
// ID, returns nil.
func checkDeleteIdempotent(t *testing.T, st sessionkit.Store) {
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
}

// checkExpiry checks what a store does with a record whose ExpiresAt has
// passed: it keeps ExpiresAt exactly, for the manager to decide, or hides
// the record (by its own clock) from Load, Update and Touch alike, never
// reviving it.
func checkExpiry(t *testing.T, st sessionkit.Store) {
	rec := newRecord(t, "")
	if err := st.Create(ctx(t), rec); err != nil {
		t.Fatal(err)
	}
	past := now().Add(-time.Second)
	if err := st.Touch(ctx(t), rec.ID, past, past); err != nil {
		t.Fatalf("Touch into the past: %v", err)
	}
	if loadExpired(t, st, rec.ID, past) {
		n := now()
		d := sessionkit.Delta{Set: map[string][]byte{"x": []byte("1")}, LastSeen: n, ExpiresAt: n.Add(time.Hour)}
		if err := st.Update(ctx(t), rec.ID, d); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Update of a record Load hides as expired = %v; want ErrNotFound", err)
		}
		if err := st.Touch(ctx(t), rec.ID, n, n.Add(time.Hour)); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Touch of a record Load hides as expired = %v; want ErrNotFound", err)
		}
		if got, _ := st.Load(ctx(t), rec.ID); got != nil {
			t.Fatal("Update or Touch revived an expired record")
		}
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
	loadExpired(t, st, rec.ID, rec.ExpiresAt)
}

// loadExpired loads the record id, whose ExpiresAt is exp and has passed,
// and reports whether the store hides it. A store that returns it must
// return it with ExpiresAt intact, so that the manager sees it has expired.
func loadExpired(t *testing.T, st sessionkit.Store, id string, exp time.Time) (hidden bool) {
	t.Helper()
	got, err := st.Load(ctx(t), id)
	if err != nil {
		t.Fatalf("Load(expired) = %v", err)
	}
	if got != nil && !got.ExpiresAt.Equal(exp) {
		t.Fatalf("Load(expired) returned ExpiresAt %v; want the one written, %v, for the manager to judge", got.ExpiresAt, exp)
	}
	return got == nil
}

// checkCreateOverExpired checks that Create over a record whose ExpiresAt
// has passed either replaces it, and then nothing of the old record
// survives, or returns ErrExists and leaves it as it was.
func checkCreateOverExpired(t *testing.T, st sessionkit.Store) {
	old := newRecord(t, "user-"+randomID(t))
	old.Persistent = true
	if err := st.Create(ctx(t), old); err != nil {
		t.Fatal(err)
	}
	past := now().Add(-time.Second)
	if err := st.Touch(ctx(t), old.ID, past, past); err != nil {
		t.Fatalf("Touch into the past: %v", err)
	}
	old.LastSeen, old.ExpiresAt = past, past
	rec := newRecord(t, "")
	rec.ID = old.ID
	rec.Values = map[string][]byte{"only": []byte("1")}
	rec.Meta = nil
	err := st.Create(ctx(t), rec)
	switch {
	case err == nil:
		got, err := st.Load(ctx(t), rec.ID)
		if err != nil {
			t.Fatalf("Load after Create over an expired record: %v", err)
		}
		if diff := equalRecords(rec, got); diff != "" {
			t.Fatalf("Load after Create over an expired record: %s", diff)
		}
		if idx, ok := st.(sessionkit.UserIndex); ok {
			if list, _ := idx.ListByUser(ctx(t), old.UserID); len(list) != 0 {
				t.Fatalf("the replaced record's user still lists it: %v", list)
			}
		}
	case errors.Is(err, sessionkit.ErrExists):
		got, err := st.Load(ctx(t), old.ID)
		if err != nil {
			t.Fatalf("Load after a refused Create: %v", err)
		}
		if diff := equalRecords(old, got); got != nil && diff != "" {
			t.Fatalf("a Create that returned ErrExists changed the record: %s", diff)
		}
	default:
		t.Fatalf("Create over an expired record = %v; want nil or ErrExists", err)
	}
}

// checkHostileIDs checks that IDs shaped like injection attacks find nothing
// and harm no other record.
func checkHostileIDs(t *testing.T, st sessionkit.Store) {
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
}

// checkCanceledContext checks that every method called with a canceled
// context fails with context.Canceled, not ErrUnavailable, and changes
// nothing.
func checkCanceledContext(t *testing.T, st sessionkit.Store) {
	checkDoneContext(t, st, canceledContext(), context.Canceled)
}

// checkDeadlineExceeded checks that every method called with a context
// whose deadline has passed fails with context.DeadlineExceeded, not
// ErrUnavailable, and changes nothing.
func checkDeadlineExceeded(t *testing.T, st sessionkit.Store) {
	checkDoneContext(t, st, expiredContext(t), context.DeadlineExceeded)
}

// canceledContext returns a context that is already canceled.
func canceledContext() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}

// expiredContext returns a context whose deadline has already passed.
func expiredContext(t *testing.T) context.Context {
	c, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	t.Cleanup(cancel)
	return c
}

// An endedContext is a context that has ended, with the error it ended
// with.
type endedContext struct {
	ctx context.Context
	err error
}

// endedContexts returns a canceled context and one past its deadline.
func endedContexts(t *testing.T) []endedContext {
	return []endedContext{{canceledContext(), context.Canceled}, {expiredContext(t), context.DeadlineExceeded}}
}

// checkDoneContext calls every Store method with done, a context that has
// ended with the error want, and checks each result and that the store
// holds what it held before.
func checkDoneContext(t *testing.T, st sessionkit.Store, done context.Context, want error) {
	rec := newRecord(t, "")
	if err := st.Create(ctx(t), rec); err != nil {
		t.Fatal(err)
	}
	got, err := st.Load(done, rec.ID)
	wantDone(t, "Load", err, want)
	if got != nil {
		t.Error("Load with an ended context returned a record along with its error")
	}
	fresh := newRecord(t, "")
	wantDone(t, "Create", st.Create(done, fresh), want)
	if got, _ := st.Load(ctx(t), fresh.ID); got != nil {
		t.Error("Create with an ended context stored the record")
	}
	later := rec.LastSeen.Add(time.Minute)
	d := sessionkit.Delta{Set: map[string][]byte{"late": []byte("1")}, LastSeen: later, ExpiresAt: later.Add(time.Hour)}
	wantDone(t, "Update", st.Update(done, rec.ID, d), want)
	wantDone(t, "Touch", st.Touch(done, rec.ID, later, later.Add(time.Hour)), want)
	wantDone(t, "Delete", st.Delete(done, rec.ID), want)
	got, err = st.Load(ctx(t), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := equalRecords(rec, got); diff != "" {
		t.Errorf("calls with an ended context changed the record: %s", diff)
	}
}

// wantDone checks that err, returned by op called with a context that
// ended with want, reports that and does not claim an outage.
func wantDone(t *testing.T, op string, err, want error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s with an ended context succeeded", op)
	case !errors.Is(err, want):
		t.Errorf("%s with an ended context = %v; want an error that wraps %v", op, err, want)
	case errors.Is(err, sessionkit.ErrUnavailable):
		t.Errorf("%s with an ended context = %v; the caller's cancellation or deadline is not sessionkit.ErrUnavailable", op, err)
	}
}

// checkConcurrentDeltas checks that concurrent updates of different keys all
// survive.
func checkConcurrentDeltas(t *testing.T, st sessionkit.Store) {
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
}

// checkConcurrentDeleteAndUpdate checks that updates that race a delete
// never bring the record back.
func checkConcurrentDeleteAndUpdate(t *testing.T, st sessionkit.Store) {
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
}

// checkConcurrentCreates checks that of concurrent creates of one ID exactly
// one succeeds.
func checkConcurrentCreates(t *testing.T, st sessionkit.Store) {
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
}

// createAndVerify creates rec in st and checks that st then holds rec. what
// describes the record in failure messages.
func createAndVerify(t *testing.T, st sessionkit.Store, rec *sessionkit.Record, what string) {
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

// updateAndVerify applies d to the session rec.ID in st and to rec, checks
// that
// st then holds rec, and returns what st holds. what describes the update
// in failure messages.
func updateAndVerify(t *testing.T, st sessionkit.Store, rec *sessionkit.Record, d sessionkit.Delta, what string) *sessionkit.Record {
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
