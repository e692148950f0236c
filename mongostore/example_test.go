package mongostore_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/mongostore"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func Example() {
	ctx := context.Background()

	// A short server selection timeout makes requests fail fast (with 503
	// Service Unavailable) while the server is down, instead of hanging
	// for the driver's default 30 seconds.
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

	m, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/", m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		n, _, _ := sessionkit.Get[int](s, "visits")
		s.Put("visits", n+1)
	})))
	log.Fatal(http.ListenAndServe("localhost:8080", nil))
}
