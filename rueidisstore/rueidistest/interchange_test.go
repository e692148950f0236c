package rueidistest

import (
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// nativeStore is what the interchangeability test needs of both stores.
type nativeStore interface {
	sessionkit.Store
	sessionkit.UserIndex
	sessionkit.Iterator
	sessionkit.SessionLimiter
	sessionkit.Remover
}

// TestInterchangeable runs redisstore (go-redis) and rueidisstore on the
// same Redis with the same options, as a fleet where some instances run
// each store would, and checks that every operation of one sees and
// changes the sessions of the other, both ways, in both formats, on a
// single node and on a Cluster.
func TestInterchangeable(t *testing.T) {
	for _, d := range deployments[:2] {
		t.Run(d.name, func(t *testing.T) {
			rc, gc := d.start(t)
			prefix := redissuite.RandomPrefix()
			rs, err := redisstore.New(gc, redisstore.Options{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			us := newStore(t, rc, prefix)
			t.Run("GoRedisToRueidis", func(t *testing.T) { checkShared(t, rs, us) })
			t.Run("RueidisToGoRedis", func(t *testing.T) { checkShared(t, us, rs) })
			t.Run("LimitGoRedisToRueidis", func(t *testing.T) { checkSharedLimit(t, rs, us) })
			t.Run("LimitRueidisToGoRedis", func(t *testing.T) { checkSharedLimit(t, us, rs) })

			exPrefix := redissuite.RandomPrefix()
			rx, err := redisstore.NewExpress(gc, redisstore.ExpressOptions{Prefix: exPrefix})
			if err != nil {
				t.Fatal(err)
			}
			ux, err := rueidisstore.NewExpress(rc, rueidisstore.ExpressOptions{Prefix: exPrefix})
			if err != nil {
				t.Fatal(err)
			}
			t.Run("ExpressGoRedisToRueidis", func(t *testing.T) { checkSharedExpress(t, rx, ux) })
			t.Run("ExpressRueidisToGoRedis", func(t *testing.T) { checkSharedExpress(t, ux, rx) })
		})
	}
}

// sameRecord reports the differences between what a and b loaded.
func sameRecord(t *testing.T, what string, got, want *sessionkit.Record) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	if got.ID != want.ID || got.UserID != want.UserID || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.LastSeen.Equal(want.LastSeen) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.AbsoluteExpiry.Equal(want.AbsoluteExpiry) || got.Persistent != want.Persistent ||
		!maps.Equal(got.Meta, want.Meta) || !maps.EqualFunc(got.Values, want.Values, slices.Equal) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// checkShared creates sessions with a and runs every other operation on
// them with b, then creates with b and reads with a.
func checkShared(t *testing.T, a, b nativeStore) {
	ctx := t.Context()
	user := redissuite.RandomPrefix()
	rec := newRecord(user)
	rec.Persistent = true
	if err := a.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := b.Load(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "b.Load of a's session", got, rec)
	if err := b.Create(ctx, rec); err != sessionkit.ErrExists {
		t.Errorf("b.Create over a's session: %v, want ErrExists", err)
	}

	// b updates: a value set, one deleted, the user changed.
	now := time.Now()
	other := user + "2"
	d := sessionkit.Delta{
		Set: map[string][]byte{"a": []byte("10"), "c": []byte("3")}, Del: []string{"b"},
		UserID: &other, LastSeen: now, ExpiresAt: now.Add(2 * time.Hour),
	}
	if err := b.Update(ctx, rec.ID, d); err != nil {
		t.Fatal(err)
	}
	want := *rec
	want.UserID, want.LastSeen, want.ExpiresAt = other, now, now.Add(2*time.Hour)
	want.Values = map[string][]byte{"a": []byte("10"), "c": []byte("3")}
	got, err = a.Load(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "a.Load after b.Update", got, &want)
	for _, st := range []nativeStore{a, b} {
		if list, err := st.ListByUser(ctx, user); err != nil || len(list) != 0 {
			t.Errorf("ListByUser(old user) = %v, %v; want none", list, err)
		}
		if list, err := st.ListByUser(ctx, other); err != nil || len(list) != 1 || list[0].ID != rec.ID {
			t.Errorf("ListByUser(new user) = %v, %v; want the session", list, err)
		}
	}

	// b touches, a sees it.
	later := now.Add(time.Minute)
	if err := b.Touch(ctx, rec.ID, later, later.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	want.LastSeen, want.ExpiresAt = later, later.Add(3*time.Hour)
	got, err = a.Load(ctx, rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "a.Load after b.Touch", got, &want)

	// b iterates over a's session, with a cursor that a can continue.
	second := newRecord(other)
	if err := a.Create(ctx, second); err != nil {
		t.Fatal(err)
	}
	page, cursor, err := b.Iterate(ctx, "", 1)
	if err != nil || len(page) != 1 {
		t.Fatalf("b.Iterate first page = %v, %q, %v", page, cursor, err)
	}
	seen := []string{page[0].ID}
	for cursor != "" {
		page, cursor, err = a.Iterate(ctx, cursor, 1)
		if err != nil {
			t.Fatalf("a.Iterate with b's cursor: %v", err)
		}
		for _, p := range page {
			seen = append(seen, p.ID)
		}
	}
	slices.Sort(seen)
	if wantIDs := slices.Sorted(slices.Values([]string{rec.ID, second.ID})); !slices.Equal(seen, wantIDs) {
		t.Errorf("iteration across both stores saw %v, want %v", seen, wantIDs)
	}

	// b deletes a's session; a deletes the user's other session by user.
	if err := b.Delete(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Load(ctx, rec.ID); got != nil || err != nil {
		t.Errorf("a.Load after b.Delete = %v, %v; want nil, nil", got, err)
	}
	if n, err := a.DeleteByUser(ctx, other); n != 1 || err != nil {
		t.Errorf("a.DeleteByUser = %d, %v; want 1", n, err)
	}
	if got, err := b.Load(ctx, second.ID); got != nil || err != nil {
		t.Errorf("b.Load after a.DeleteByUser = %v, %v; want nil, nil", got, err)
	}

	// a expires a session that b iterates over and removes: the end is
	// b's alone.
	third := newRecord(other)
	if err := b.Create(ctx, third); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Second)
	if err := a.Touch(ctx, third.ID, past, past); err != nil {
		t.Fatal(err)
	}
	found := false
	for cursor := ""; ; {
		page, next, err := b.Iterate(ctx, cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		found = found || slices.ContainsFunc(page, func(i sessionkit.SessionInfo) bool { return i.ID == third.ID })
		if cursor = next; cursor == "" {
			break
		}
	}
	if !found {
		t.Error("b.Iterate does not return the session a expired")
	}
	if ok, err := b.Remove(ctx, third.ID); !ok || err != nil {
		t.Errorf("b.Remove of the expired session = %v, %v; want true", ok, err)
	}
	if ok, err := a.Remove(ctx, third.ID); ok || err != nil {
		t.Errorf("a.Remove after b.Remove = %v, %v; want false", ok, err)
	}
}

// checkSharedLimit checks that each store counts the sessions the other
// linked or created against the same limit, and that links through both
// at once never exceed it.
func checkSharedLimit(t *testing.T, a, b nativeStore) {
	ctx := t.Context()
	now := time.Now()
	user := redissuite.RandomPrefix()
	create := func(user string, age time.Duration) *sessionkit.Record {
		t.Helper()
		rec := newRecord(user)
		rec.CreatedAt = now.Add(-age)
		if err := a.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	linked := func(recs []*sessionkit.Record) int {
		t.Helper()
		n := 0
		for _, rec := range recs {
			got, err := b.Load(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got != nil && got.UserID == user {
				n++
			}
		}
		return n
	}

	// a creates two sessions of the user and links a third; b counts all three.
	old, mid := create(user, 3*time.Hour), create(user, 2*time.Hour)
	third := create("", time.Hour)
	if _, err := a.LinkUser(ctx, third.ID, user, 3, false, now); err != nil {
		t.Fatal(err)
	}
	fourth := create("", 0)
	if _, err := b.LinkUser(ctx, fourth.ID, user, 3, false, now); !errors.Is(err, sessionkit.ErrTooManySessions) {
		t.Fatalf("b.LinkUser over a's three sessions = %v; want ErrTooManySessions", err)
	}
	ev, err := b.LinkUser(ctx, fourth.ID, user, 3, true, now)
	if err != nil || !slices.Equal(ev, []string{old.ID}) {
		t.Fatalf("b.LinkUser with eviction = %v, %v; want a's oldest evicted", ev, err)
	}
	if got, err := a.Load(ctx, old.ID); got != nil || err != nil {
		t.Fatalf("a.Load of the evicted session = %v, %v; want nil, nil", got, err)
	}
	if n := linked([]*sessionkit.Record{old, mid, third, fourth}); n != 3 {
		t.Fatalf("the user has %d linked sessions; want 3", n)
	}

	// Sixteen links at once, half through each store, under a limit of 3.
	user = redissuite.RandomPrefix()
	recs := make([]*sessionkit.Record, 16)
	for i := range recs {
		recs[i] = create("", time.Duration(i)*time.Minute)
	}
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	for i, rec := range recs {
		st := []nativeStore{a, b}[i%2]
		wg.Go(func() { _, errs[i] = st.LinkUser(ctx, rec.ID, user, 3, false, now) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, sessionkit.ErrTooManySessions) {
			t.Fatal(err)
		}
	}
	if n := linked(recs); ok != 3 || n != 3 {
		t.Fatalf("%d links succeeded and the user has %d linked sessions; want 3 and 3", ok, n)
	}
	if list, err := a.ListByUser(ctx, user); err != nil || len(list) != 3 {
		t.Fatalf("a.ListByUser = %d sessions, %v; want 3", len(list), err)
	}
}

// checkSharedExpress does the same for the Express format.
func checkSharedExpress(t *testing.T, a, b sessionkit.Store) {
	ctx := t.Context()
	now := time.Now()
	rec := redissuite.ExpressRecord(redissuite.RandomPrefix(), now)
	if err := a.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := b.Load(ctx, rec.ID)
	if err != nil || got == nil {
		t.Fatalf("b.Load of a's session: %v, %v", got, err)
	}
	if got.UserID != rec.UserID || !got.CreatedAt.Equal(rec.CreatedAt) || !maps.EqualFunc(got.Values, rec.Values, slices.Equal) {
		t.Errorf("b.Load of a's session = %+v, want %+v", got, rec)
	}
	if err := b.Create(ctx, rec); err != sessionkit.ErrExists {
		t.Errorf("b.Create over a's session: %v, want ErrExists", err)
	}
	d := sessionkit.Delta{Set: map[string][]byte{"n": []byte("43")}, Del: []string{"user"}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	if err := b.Update(ctx, rec.ID, d); err != nil {
		t.Fatal(err)
	}
	got, err = a.Load(ctx, rec.ID)
	if err != nil || got == nil {
		t.Fatalf("a.Load after b.Update: %v, %v", got, err)
	}
	if want := map[string][]byte{"n": []byte("43")}; !maps.EqualFunc(got.Values, want, slices.Equal) {
		t.Errorf("a.Load after b.Update: values %q, want %q", got.Values, want)
	}
	if err := b.Touch(ctx, rec.ID, now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Load(ctx, rec.ID); got != nil || err != nil {
		t.Errorf("a.Load after b.Delete = %v, %v; want nil, nil", got, err)
	}
	if err := a.Touch(ctx, rec.ID, now, now.Add(time.Hour)); err != sessionkit.ErrNotFound {
		t.Errorf("a.Touch after b.Delete = %v, want ErrNotFound", err)
	}
}
