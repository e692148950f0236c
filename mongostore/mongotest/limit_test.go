package mongotest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestLinkUserAcrossInstances links 12 sessions of one user at once through
// three Stores with their own clients, as three app instances would, under
// a limit of 2: the user ends with exactly 2 sessions. The Stores share
// nothing but the server, so only the lease keeps them apart.
func TestLinkUserAcrossInstances(t *testing.T) {
	srv := ferretdbtest.Start(t)
	first, coll := newStore(t, srv, mongostore.Options{})
	stores := []*mongostore.Store{first}
	for range 2 {
		s, err := mongostore.New(context.Background(), connect(t, srv).Database(coll.Database().Name()), mongostore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	for _, evict := range []bool{false, true} {
		user := "user-" + randomID()
		now := time.Now()
		recs := make([]*sessionkit.Record, 12)
		for i := range recs {
			recs[i] = newRecord(now.Add(time.Duration(i)*time.Second), "")
			if err := first.Create(context.Background(), recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, len(recs))
		for i, rec := range recs {
			wg.Go(func() {
				_, errs[i] = stores[i%len(stores)].LinkUser(context.Background(), rec.ID, user, 2, evict, time.Now())
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil && !errors.Is(err, sessionkit.ErrTooManySessions) && !errors.Is(err, sessionkit.ErrNotFound) {
				t.Fatalf("LinkUser = %v", err)
			}
		}
		list, err := first.ListByUser(context.Background(), user)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Fatalf("evict %v: the user has %d sessions after 12 links through 3 instances; want 2", evict, len(list))
		}
	}
}

// TestLinkUserCrashedHolder checks that the lease of an instance that
// crashed while linking delays the user's next link until it expires, and
// no longer; and that a finished lease delays nothing.
func TestLinkUserCrashedHolder(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, coll := newStore(t, srv, mongostore.Options{})
	leases := coll.Database().Collection(mongostore.DefaultCollection + "_leases")
	ctx := context.Background()
	user := "user-" + randomID()

	// The crashed holder took generation 1 and never finished.
	until := time.Now().Add(2 * time.Second)
	crashed := bson.D{{Key: "_id", Value: "1:" + user}, {Key: "uid", Value: user}, {Key: "n", Value: 1}, {Key: "until", Value: until}, {Key: "done", Value: false}}
	if _, err := leases.InsertOne(ctx, crashed); err != nil {
		t.Fatal(err)
	}
	rec := newRecord(time.Now(), "")
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := s.LinkUser(short, rec.ID, user, 1, false, time.Now()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LinkUser while a live lease is held = %v; want to wait past its deadline", err)
	}
	if _, err := s.LinkUser(ctx, rec.ID, user, 1, false, time.Now()); err != nil {
		t.Fatalf("LinkUser after the crashed lease expired = %v", err)
	}
	if !time.Now().After(until) {
		t.Fatal("LinkUser went ahead before the crashed lease expired")
	}
	if got, err := leases.CountDocuments(ctx, bson.D{{Key: "uid", Value: user}, {Key: "done", Value: true}}); err != nil || got != 1 {
		t.Fatalf("%d finished leases, %v; want the one LinkUser took", got, err)
	}

	// A finished lease does not delay the next link.
	rec2 := newRecord(time.Now(), "")
	if err := s.Create(ctx, rec2); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.LinkUser(ctx, rec2.ID, user, 2, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("LinkUser after a finished lease took %v", d)
	}
}

// TestLinkUserBadArguments checks the errors for an empty user ID and a
// limit below one, which change nothing.
func TestLinkUserBadArguments(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{})
	rec := newRecord(time.Now(), "")
	if err := s.Create(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LinkUser(context.Background(), rec.ID, "", 1, true, time.Now()); err == nil {
		t.Fatal("LinkUser with an empty user ID succeeded")
	}
	if _, err := s.LinkUser(context.Background(), rec.ID, "u", 0, true, time.Now()); err == nil {
		t.Fatal("LinkUser with a limit of 0 succeeded")
	}
	if got, _ := s.Load(context.Background(), rec.ID); got == nil || got.UserID != "" {
		t.Fatalf("a refused LinkUser changed the session: %+v", got)
	}
}
