package redisstore_test

import (
	"log"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/redisstore"
)

// This example sends the session commands of concurrent requests to a
// single Redis node in shared pipelines, for a server under concurrent
// load. It needs a running server, so it is compiled but not run.
func ExampleOptions_autoPipeline() {
	client := redis.NewClient(&redis.Options{Addr: "localhost:6379", ContextTimeoutEnabled: true})
	defer client.Close() // closes the autopipeliner too

	store, err := redisstore.New(client, redisstore.Options{Prefix: "myapp:", AutoPipeline: true})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := sessionkit.New(sessionkit.Config{Store: store}); err != nil {
		log.Fatal(err)
	}
}

// This example keeps sessions in Redis. It needs a running server, so it is
// compiled but not run.
func Example() {
	// redis.NewUniversalClient returns a cluster client when given several
	// addresses and a Sentinel-backed client when given a master name; the
	// store works with all of them.
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"localhost:6379"},
		ContextTimeoutEnabled: true, // let request deadlines bound Redis calls
	})
	defer client.Close()

	store, err := redisstore.New(client, redisstore.Options{Prefix: "myapp:"})
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

// Sessions of a Redis Cluster: every key the store writes is routed on its
// own, so no command crosses slots.
func ExampleNew_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 []string{"10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store, err := redisstore.New(client, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	_ = store
}

// Sessions on a master watched by Redis Sentinel: the client follows
// failovers.
func ExampleNew_sentinel() {
	client := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            "mymaster",
		SentinelAddrs:         []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()
	store, err := redisstore.New(client, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	_ = store
}

// This example shares the cookie store's revocation list through Redis, so
// that a logout holds on every app instance. It needs a running server, so
// it is compiled but not run.
func ExampleNewRevocations() {
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 []string{"localhost:6379"},
		ContextTimeoutEnabled: true,
	})
	defer client.Close()

	revs, err := redisstore.NewRevocations(client, redisstore.RevocationsOptions{Prefix: "myapp:revoked:"})
	if err != nil {
		log.Fatal(err)
	}
	store, err := cookiestore.New(cookiestore.Options{
		Keys:        [][]byte{[]byte(os.Getenv("COOKIE_KEY"))}, // at least 32 random bytes
		Revocations: revs,
	})
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := sessionkit.New(sessionkit.Config{ClientStore: store})
	if err != nil {
		log.Fatal(err)
	}
	_ = sessions
}
