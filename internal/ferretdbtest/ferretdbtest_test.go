package ferretdbtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func connect(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func TestRestartKeepsData(t *testing.T) {
	srv := ferretdbtest.Start(t)
	uri := srv.URI()
	ctx := context.Background()
	coll := connect(t, uri).Database("test").Collection("c")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}, {Key: "n", Value: 1}}); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	srv.Stop()
	t.Logf("Stop took %v", time.Since(start))
	ctx2, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := coll.FindOne(ctx2, bson.D{{Key: "_id", Value: "a"}}).Err(); err == nil {
		t.Fatal("FindOne on a stopped server succeeded")
	}

	srv.Restart()
	if got := srv.URI(); got != uri {
		t.Fatalf("URI after Restart = %q, want %q", got, uri)
	}
	var doc struct {
		N int `bson:"n"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "a"}}).Decode(&doc); err != nil {
		t.Fatalf("FindOne after Restart: %v", err)
	}
	if doc.N != 1 {
		t.Fatalf("n = %d, want 1", doc.N)
	}
}

func TestTwoServers(t *testing.T) {
	a, b := ferretdbtest.Start(t), ferretdbtest.Start(t)
	if a.URI() == b.URI() || a.Dir() == b.Dir() {
		t.Fatalf("servers share %q / %q", a.URI(), a.Dir())
	}
	for _, s := range []*ferretdbtest.Server{a, b} {
		if err := connect(t, s.URI()).Ping(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
}
