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
// own and drops it at the end. Without the variable they are skipped: MongoDB
// cannot be installed everywhere the tests run.

// mongoDB returns a fresh database on the server SESSIONKIT_MONGODB_URI
// names, or skips the test.
func mongoDB(t *testing.T) *mongo.Database {
	t.Helper()
	uri := os.Getenv("SESSIONKIT_MONGODB_URI")
	if uri == "" {
		t.Skip("set SESSIONKIT_MONGODB_URI to a MongoDB server to test the TTL-index path")
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
	db := mongoDB(t)
	s, err := mongostore.New(context.Background(), db, mongostore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.TTLIndex() {
		t.Fatal("TTLIndex() = false on MongoDB")
	}
	cur, err := db.Collection(mongostore.DefaultCollection).Indexes().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var idx []bson.M
	if err := cur.All(context.Background(), &idx); err != nil {
		t.Fatal(err)
	}
	for _, ix := range idx {
		if ix["name"] == "exp_1" {
			if fmt.Sprint(ix["expireAfterSeconds"]) != "0" {
				t.Fatalf("exp_1 = %v, want expireAfterSeconds 0", ix)
			}
			return
		}
	}
	t.Fatalf("no exp_1 index: %v", idx)
}

func TestMongoDBConformance(t *testing.T) {
	db := mongoDB(t)
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
