package rueidisstore_test

import (
	"log"
	"net/http"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// This example keeps sessions in Redis through rueidis. It needs a running
// server (rueidis.NewClient connects at once), so it is compiled but not
// run.
func Example() {
	// rueidis.NewClient returns a cluster client when the address is a
	// Cluster node, whatever the number of addresses.
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"localhost:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	store, err := rueidisstore.New(client, rueidisstore.Options{Prefix: "myapp:"})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		n, _, _ := sessionkit.Get[int](s, "visits")
		s.Put("visits", n+1)
	})
	log.Fatal(http.ListenAndServe(":8080", sessions.Middleware(mux)))
}

// Sessions on a master watched by Redis Sentinel: the client follows
// failovers.
func ExampleNew_sentinel() {
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress: []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		Sentinel:    rueidis.SentinelOption{MasterSet: "mymaster"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store, err := rueidisstore.New(client, rueidisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	_ = store
}

// Sessions shared with an Express application that uses connect-redis and
// express-session, with express-session's token scheme.
func ExampleNewExpress() {
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"localhost:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store, err := rueidisstore.NewExpress(client, rueidisstore.ExpressOptions{})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := express.NewTokens([]byte("the secret of express-session"))
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := sessionkit.New(sessionkit.Config{
		Store:  store,
		Tokens: tokens,
		Cookie: sessionkit.CookieConfig{Name: express.CookieName},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = sessions
}

// Loads served from rueidis's client-side cache, which Redis invalidates
// whenever any instance writes a session; CacheSizeEachConn bounds its
// memory per connection. See the README for the revocation window and
// when not to turn the cache on.
func ExampleNew_clientSideCache() {
	client, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{"localhost:6379"},
		CacheSizeEachConn: 64 << 20,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	store, err := rueidisstore.New(client, rueidisstore.Options{CacheTTL: 5 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	_ = store
}
