package rueidisstore_test

import (
	"log"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// This example keeps remember-me tokens in Redis under the sessions'
// prefix. It needs a server, so it is compiled but not run.
func ExampleNewRememberStore() {
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"localhost:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store, err := rueidisstore.New(client, rueidisstore.Options{Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := rueidisstore.NewRememberStore(store)
	if err != nil {
		log.Fatal(err)
	}

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
