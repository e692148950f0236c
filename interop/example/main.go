// Command example is the Go half of sessionkit's worked Express example: it
// greets the user whom the seed article's redis-session.js (an Express app
// with express-session and connect-redis) greets, from the same session in
// the same Redis, with the same connect.sid cookie.
//
// Run redis-server, then the Express app and this program side by side:
//
//	npm ci && node redis-session.js            # http://localhost:3000
//	go run . -addr localhost:3001              # http://localhost:3001
//
// Visit http://localhost:3000 ("Hello, John Doe!" from Express), then
// http://localhost:3001: the Go handler reads the same session and answers
// "Hello from Go, John Doe!". Browsers share cookies between ports of one
// host, so no proxy is needed; in production put both behind one domain.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/redisstore"
)

func main() {
	addr := flag.String("addr", "localhost:3001", "address to listen on")
	redisURL := flag.String("redis", "redis://localhost:6379", "the Redis the Express app uses")
	flag.Parse()

	opts, err := redis.ParseURL(*redisURL)
	if err != nil {
		log.Fatal(err)
	}
	client := redis.NewClient(opts)
	defer client.Close()
	h, err := newHandler(client)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("Go server running on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

// newHandler returns the Go twin of redis-session.js's handler, sharing its
// sessions through client.
func newHandler(client redis.UniversalClient) (http.Handler, error) {
	// The Express app's settings: connect-redis defaults (prefix "sess:",
	// ttl 86400) and cookie: { secure: false }, which express-session
	// stores as "secure": false.
	notSecure := false
	store, err := redisstore.NewExpress(client, redisstore.ExpressOptions{
		Cookie: express.Cookie{Secure: &notSecure},
	})
	if err != nil {
		return nil, err
	}
	// Express's session IDs and cookie signature, with the app's secret.
	tokens, err := express.NewTokens([]byte("mysecret"))
	if err != nil {
		return nil, err
	}
	m, err := sessionkit.New(sessionkit.Config{
		Store:  store,
		Tokens: tokens,
		// connect.sid over plain HTTP, like the example's cookie: { secure: false }.
		Cookie: sessionkit.CookieConfig{Name: express.CookieName, Insecure: true},
	})
	if err != nil {
		return nil, err
	}
	return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		user, ok, err := sessionkit.Get[string](s, "user")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if !ok {
			user = "John Doe"
			if err := s.Put("user", user); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		fmt.Fprintf(w, "Hello from Go, %s!", user)
	})), nil
}
