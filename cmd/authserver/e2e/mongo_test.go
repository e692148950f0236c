package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/crypto/bcrypt"
)

// TestMongoDB runs every flow with sessions and users in MongoDB, the
// seed's set-up, against FerretDB (a MongoDB wire-protocol server).
func TestMongoDB(t *testing.T) {
	fdb := ferretdbtest.Start(t)
	base := strings.TrimSuffix(fdb.URI(), "/")
	srv, _ := startApp(t, base+"/sessions", base+"/users", true, false)
	apptest.RunCoreFlows(t, func(name string) *apptest.Client { return apptest.NewClient(t, srv, name) }, true)
}

// TestMongoDBNodeUsers logs in a user that the seed's Node app stored
// (Mongoose model User: {username, password: bcrypt, __v}) and checks that
// the hash is upgraded to argon2id.
func TestMongoDBNodeUsers(t *testing.T) {
	fdb := ferretdbtest.Start(t)
	base := strings.TrimSuffix(fdb.URI(), "/")
	srv, _ := startApp(t, "memory:", base+"/authSessionDB", true, false)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(fdb.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(context.Background())
	users := client.Database("authSessionDB").Collection("users")
	hash, _ := bcrypt.GenerateFromPassword([]byte("node password 1"), 10)
	id := bson.NewObjectID()
	if _, err := users.InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "username", Value: "NodeUser"},
		{Key: "password", Value: string(hash)}, {Key: "__v", Value: 0}}); err != nil {
		t.Fatal(err)
	}

	c := apptest.NewClient(t, srv, "browser")
	if r := c.Login("NodeUser", "node password 2", false); r.StatusCode != 401 {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	apptest.MustSeeOther(t, c.Login("NodeUser", "node password 1", true), "/")
	c.LoggedInAs("NodeUser")
	var doc struct {
		Password string `bson:"password"`
	}
	if err := users.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.Password, "$argon2id$") {
		t.Fatalf("hash not upgraded: %q", doc.Password)
	}
	apptest.MustSeeOther(t, apptest.NewClient(t, srv, "again").Login("NodeUser", "node password 1", false), "/")
	// The name is taken for new registrations, whatever the case.
	if r := apptest.NewClient(t, srv, "x").Register("nodeuser", apptest.TestPassword); r.StatusCode != 409 {
		t.Errorf("register over a Node user: %d, want 409", r.StatusCode)
	}
}
