package mongotest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/sessiontest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The tests in this file run against a real MongoDB server, the only kind
// that exercises the TTL-index path, when SESSIONKIT_MONGODB_URI names one
// (for example mongodb://127.0.0.1:27017). Each test uses a database of its
// own and drops it at the end. They are opt-in: without the variable they
// are skipped, also in CI (SESSIONKIT_REQUIRE_SERVERS), since MongoDB is not
// among the servers the test setup installs (it is not in Debian); the other
// tests of this package cover the store on the embedded FerretDB.

// mongoDB returns a fresh database on the server SESSIONKIT_MONGODB_URI
// names, or skips the test, saying why it needs MongoDB.
func mongoDB(t *testing.T, why string) *mongo.Database {
	t.Helper()
	uri := os.Getenv("SESSIONKIT_MONGODB_URI")
	if uri == "" {
		t.Skip("opt-in test, needs a real MongoDB server (set SESSIONKIT_MONGODB_URI, e.g. mongodb://127.0.0.1:27017): " + why)
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	db := c.Database("sessionkit_test_" + randomID()[:12])
	t.Cleanup(func() {
		ctx := context.Background()
		_ = db.Drop(ctx)
		_ = c.Disconnect(ctx)
	})
	return db
}

func TestMongoDBTTLIndex(t *testing.T) {
	db := mongoDB(t, "it checks that the store creates its TTL index, and changes its expireAfterSeconds to KeepExpired, which FerretDB v1 does not support")
	ctx := context.Background()
	expireAfter := func() string {
		t.Helper()
		cur, err := db.Collection(mongostore.DefaultCollection).Indexes().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var idx []bson.M
		if err := cur.All(ctx, &idx); err != nil {
			t.Fatal(err)
		}
		for _, ix := range idx {
			if ix["name"] == "exp_1" {
				return fmt.Sprint(ix["expireAfterSeconds"])
			}
		}
		t.Fatalf("no exp_1 index: %v", idx)
		return ""
	}
	for _, tt := range []struct {
		keep time.Duration
		want string
	}{
		{0, "300"}, // sessionkit.DefaultKeepExpired
		{90 * time.Second, "90"},
		{1500 * time.Millisecond, "2"},
		{-1, "0"},
	} {
		s, err := mongostore.New(ctx, db, mongostore.Options{KeepExpired: tt.keep})
		if err != nil {
			t.Fatalf("New with KeepExpired %v over an existing index: %v", tt.keep, err)
		}
		s.Close()
		if !s.TTLIndex() {
			t.Fatalf("KeepExpired %v: TTLIndex() = false on MongoDB", tt.keep)
		}
		if got := expireAfter(); got != tt.want {
			t.Fatalf("KeepExpired %v: exp_1 has expireAfterSeconds %s, want %s", tt.keep, got, tt.want)
		}
	}
}

func TestMongoDBConformance(t *testing.T) {
	db := mongoDB(t, "it runs the conformance suite on MongoDB, where the store leaves expiry to the TTL index; TestConformance runs the same suite on the embedded FerretDB")
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store {
			s, err := mongostore.New(context.Background(), db, mongostore.Options{Collection: "s" + randomID()[:8]})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	})
}
