package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/app"
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

// pausingUsers holds a login right after its user lookup by name.
type pausingUsers struct {
	app.UserStore
	pause *apptest.Pause
}

func (u pausingUsers) ByUsername(ctx context.Context, name string) (*app.User, error) {
	usr, err := u.UserStore.ByUsername(ctx, name)
	u.pause.Point()
	return usr, err
}

// TestMongoDBStaleLogin: the MongoDB user store keeps the credential
// version, so a login that read the account before a password change
// fails.
func TestMongoDBStaleLogin(t *testing.T) {
	fdb := ferretdbtest.Start(t)
	pause := &apptest.Pause{}
	srv, _ := startApp(t, "memory:", strings.TrimSuffix(fdb.URI(), "/")+"/users", true, false,
		func(u app.UserStore) app.UserStore { return pausingUsers{UserStore: u, pause: pause} })
	apptest.RunStaleLogin(t, func(name string) *apptest.Client { return apptest.NewClient(t, srv, name) }, pause)
}

// TestMongoDBDisableUser: a disabled account in MongoDB loses its sessions
// and cannot sign in; enabled again, it signs in with a new session.
func TestMongoDBDisableUser(t *testing.T) {
	fdb := ferretdbtest.Start(t)
	srv, a := startApp(t, "cookie:", strings.TrimSuffix(fdb.URI(), "/")+"/users", true, false)
	c := apptest.NewClient(t, srv, "laptop")
	apptest.MustSeeOther(t, c.Register("mona", apptest.TestPassword), "/")
	if err := a.SetUserDisabled(t.Context(), "mona", true); err != nil {
		t.Fatal(err)
	}
	c.Anonymous()
	if r := apptest.NewClient(t, srv, "x").Login("mona", apptest.TestPassword, false); r.StatusCode != 401 {
		t.Fatalf("login of a disabled account: %d, want 401", r.StatusCode)
	}
	if err := a.SetUserDisabled(t.Context(), "mona", false); err != nil {
		t.Fatal(err)
	}
	apptest.MustSeeOther(t, c.Login("mona", apptest.TestPassword, false), "/")
	c.LoggedInAs("mona")
}

// TestMongoDBNodeUsers logs in a user that the seed's Node app stored
// (Mongoose model User: {username, password: bcrypt, __v}) and checks that
// the hash is upgraded to argon2id.
func TestMongoDBNodeUsers(t *testing.T) {
	fdb := ferretdbtest.Start(t)
	base := strings.TrimSuffix(fdb.URI(), "/")
	srv, _ := startApp(t, "memory:", base+"/authSessionDB", true, false)

	// Generous: the logins below hash with argon2 on a possibly busy CI machine.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
