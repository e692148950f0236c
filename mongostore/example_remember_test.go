package mongostore_test

import (
	"context"
	"log"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/remember"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// This example keeps remember-me tokens in MongoDB beside the sessions. It
// needs a server, so it is compiled but not run.
func ExampleNewRememberStore() {
	ctx := context.Background()
	client, err := mongo.Connect(options.Client().
		ApplyURI("mongodb://localhost:27017").
		SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Disconnect(ctx)
	store, err := mongostore.New(ctx, client.Database("app"), mongostore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	tokens, err := mongostore.NewRememberStore(ctx, store, mongostore.RememberOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer tokens.Close()

	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	rm, err := remember.New(remember.Config{Sessions: sessions, Store: tokens})
	if err != nil {
		log.Fatal(err)
	}
	_ = rm // rm.Issue at login, rm.Middleware inside sessions.Middleware
}
