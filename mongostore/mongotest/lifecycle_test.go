package mongotest

import (
	"context"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/sessiontest"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// TestRemove checks sessionkit.Remover through two Stores with clients of
// their own on one collection, as two instances would have
// (sessiontest.RunRemoveAcrossInstances).
func TestRemove(t *testing.T) {
	srv := ferretdbtest.Start(t)
	a, coll := newStore(t, srv, mongostore.Options{})
	b, err := mongostore.New(context.Background(), connect(t, srv).Database(coll.Database().Name()), mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	sessiontest.RunRemoveAcrossInstances(t, a, b)
}

// TestKeepExpired checks Options.KeepExpired (sessiontest.RunKeepExpired)
// with the Store's own clean-up: FerretDB has no TTL indexes, and
// TestMongoDBTTLIndex checks the TTL index's expireAfterSeconds.
func TestKeepExpired(t *testing.T) {
	srv := ferretdbtest.Start(t)
	var db *mongo.Database
	sessiontest.RunKeepExpired(t, func(t *testing.T, keep, interval time.Duration) sessiontest.Collector {
		opts := mongostore.Options{CleanupInterval: interval, KeepExpired: keep}
		if db == nil {
			s, coll := newStore(t, srv, opts)
			db = coll.Database()
			return s
		}
		s, err := mongostore.New(context.Background(), db, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
