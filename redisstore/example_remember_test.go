package redisstore_test

import (
	"log"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/remember"
)

// This example keeps remember-me tokens in Redis under the sessions'
// prefix. It needs a server, so it is compiled but not run.
func ExampleNewRememberStore() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"localhost:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store, err := redisstore.New(client, redisstore.Options{Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := redisstore.NewRememberStore(store)
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
