package mongotest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
)

// newRecords returns n records with times at the store's millisecond
// precision, some without user, values or metadata, with odd value keys.
func newRecords(n int) []*sessionkit.Record {
	now := time.Now().UTC().Truncate(time.Millisecond)
	recs := make([]*sessionkit.Record, n)
	for i := range recs {
		r := newRecord(now.Add(-time.Duration(i)*time.Second), "")
		switch i % 4 {
		case 0:
			r.UserID = "user-" + strconv.Itoa(i%3)
			r.Values["a.b"] = []byte{0, 1, 2}
			r.Values["$x"] = []byte{}
		case 1:
			r.Values = map[string][]byte{}
			r.Meta = nil
		case 2:
			r.Persistent = true
		}
		recs[i] = r
	}
	return recs
}

// load returns what Load returns for id.
func load(t *testing.T, s *mongostore.Store, id string) *sessionkit.Record {
	t.Helper()
	r, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load(%s): %v", id, err)
	}
	return r
}

// TestIterateRecords checks that IterateRecords yields every session once,
// expired ones too, each equal to what Load returns, stops when yield
// returns false, and reports a canceled context.
func TestIterateRecords(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{CleanupInterval: -1})
	ctx := context.Background()
	recs := newRecords(25)
	recs[5].ExpiresAt = time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for _, r := range recs {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	err := s.IterateRecords(ctx, func(r *sessionkit.Record) bool {
		if seen[r.ID] {
			t.Errorf("record %s yielded twice", r.ID)
		}
		seen[r.ID] = true
		if want := load(t, s, r.ID); !reflect.DeepEqual(r, want) {
			t.Errorf("IterateRecords yielded %+v\nLoad returns          %+v", r, want)
		}
		return true
	})
	if err != nil {
		t.Fatalf("IterateRecords: %v", err)
	}
	for _, r := range recs {
		if !seen[r.ID] {
			t.Errorf("record %s not yielded", r.ID)
		}
	}
	if len(seen) != len(recs) {
		t.Errorf("yielded %d records; want %d", len(seen), len(recs))
	}

	n := 0
	if err := s.IterateRecords(ctx, func(*sessionkit.Record) bool { n++; return n < 3 }); err != nil || n != 3 {
		t.Errorf("IterateRecords stopped after %d records (%v); want 3, nil", n, err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	err = s.IterateRecords(canceled, func(*sessionkit.Record) bool { return true })
	if !errors.Is(err, context.Canceled) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("IterateRecords with a canceled context: %v; want context.Canceled, not ErrUnavailable", err)
	}
}

// TestCreateMany checks that CreateMany creates records as Create does,
// across several insert commands: each then loads as it was given, a live
// session's ID is reported and its session kept, an expired one's is
// replaced, and a call with taken IDs reports them.
func TestCreateMany(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{CleanupInterval: -1})
	ctx := context.Background()
	recs := newRecords(1100)
	live, expired := newRecords(1)[0], newRecords(1)[0]
	expired.ExpiresAt = time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	for _, r := range []*sessionkit.Record{live, expired} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	recs[3].ID = live.ID       // in the first insert command
	recs[1050].ID = expired.ID // in the second
	existing, err := s.CreateMany(ctx, recs)
	if err != nil {
		t.Fatalf("CreateMany: %v", err)
	}
	if !slices.Equal(existing, []int{3}) {
		t.Errorf("CreateMany reported %v as existing; want [3]", existing)
	}
	if got := load(t, s, live.ID); !reflect.DeepEqual(got, live) {
		t.Errorf("live session after CreateMany: %+v; want it unchanged %+v", got, live)
	}
	// FerretDB scans the collection for each Load: check a few records
	// by Load, which IterateRecords equals (TestIterateRecords), and all
	// of them through one IterateRecords.
	for _, i := range []int{0, 1, 2, 999, 1000, 1050, 1099} {
		if got := load(t, s, recs[i].ID); !reflect.DeepEqual(got, recs[i]) {
			t.Errorf("record %d: Load returns %+v; want %+v", i, got, recs[i])
		}
	}
	want := map[string]*sessionkit.Record{live.ID: live}
	for i, r := range recs {
		if i != 3 {
			want[r.ID] = r
		}
	}
	got := map[string]*sessionkit.Record{}
	if err := s.IterateRecords(ctx, func(r *sessionkit.Record) bool { got[r.ID] = r; return true }); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after CreateMany the store holds %d records, not the %d given", len(got), len(want))
	}

	again := []*sessionkit.Record{newRecords(1)[0], recs[1099], recs[0], live}
	existing, err = s.CreateMany(ctx, again)
	if err != nil || !slices.Equal(existing, []int{1, 2, 3}) {
		t.Errorf("CreateMany of taken IDs: %v, %v; want [1 2 3]", existing, err)
	}
	if got := load(t, s, again[0].ID); !reflect.DeepEqual(got, again[0]) {
		t.Errorf("new record among taken ones: Load returns %+v; want %+v", got, again[0])
	}
	if existing, err := s.CreateMany(ctx, nil); existing != nil || err != nil {
		t.Errorf("CreateMany(nil) = %v, %v; want nil, nil", existing, err)
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.CreateMany(canceled, newRecords(2))
	if !errors.Is(err, context.Canceled) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("CreateMany with a canceled context: %v; want context.Canceled, not ErrUnavailable", err)
	}
}
