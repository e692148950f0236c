package mongotest

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// TestIterateOneQuery checks that an iteration of ten pages sends one find
// command, and fetches the next pages from the same query: FerretDB reads
// the whole collection for each find that has a range filter or a sort.
func TestIterateOneQuery(t *testing.T) {
	srv := ferretdbtest.Start(t)
	var finds atomic.Int32
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		if e.CommandName == "find" {
			finds.Add(1)
		}
	}}
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	s, err := mongostore.New(context.Background(), c.Database("db"+randomID()[:8]), mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	want := createSessions(t, s, 30)
	finds.Store(0)
	got := iterateAll(t, []*mongostore.Store{s}, 3, -1)
	if !slices.Equal(got, want) {
		t.Fatalf("iteration gave %d sessions; want the %d in ID order", len(got), len(want))
	}
	if n := finds.Load(); n != 1 {
		t.Fatalf("an iteration of 10 pages sent %d find commands; want 1", n)
	}
}

// TestIterateAcrossStores checks that an iteration continues on a Store
// that did not start it, and after the Store that started it closed its
// queries, with every session once, in ID order.
func TestIterateAcrossStores(t *testing.T) {
	srv := ferretdbtest.Start(t)
	a, coll := newStore(t, srv, mongostore.Options{})
	b, err := mongostore.New(context.Background(), connect(t, srv).Database(coll.Database().Name()), mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	want := createSessions(t, a, 20)
	// Pages alternate between a and b; a closes its open queries after
	// the fourth page.
	stores := []*mongostore.Store{a, b, a, a, b, b, a}
	got := iterateAll(t, stores, 3, 3)
	if !slices.Equal(got, want) {
		t.Fatalf("iteration over two Stores gave %v; want %v", got, want)
	}
	_ = a.Close()
	if got := iterateAll(t, []*mongostore.Store{a, b}, 7, -1); !slices.Equal(got, want) {
		t.Fatalf("iteration after Close gave %d sessions; want %d", len(got), len(want))
	}
}

// createSessions creates n sessions in s and returns their IDs in order.
func createSessions(t *testing.T, s *mongostore.Store, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		r := newRecord(time.Now(), "")
		if err := s.Create(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

// iterateAll pages through every session with pages of limit, asking
// stores[i%len(stores)] for page i, and returns the IDs in page order.
// After page closeAt, it closes stores[0], which closes its open queries.
func iterateAll(t *testing.T, stores []*mongostore.Store, limit, closeAt int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for i := 0; ; i++ {
		page, next, err := stores[i%len(stores)].Iterate(context.Background(), cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		if i == closeAt {
			_ = stores[0].Close()
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
