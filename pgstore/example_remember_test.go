package pgstore_test

import (
	"context"
	"log"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/pgstore"
	"github.com/sessionkit/sessionkit/remember"
)

// This example keeps remember-me tokens in PostgreSQL beside the sessions.
// It needs a server, so it is compiled but not run.
func ExampleNewRememberStore() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New(ctx, pool, pgstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	tokens, err := pgstore.NewRememberStore(ctx, store, pgstore.RememberOptions{})
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

func ExampleRememberSchema() {
	schema, err := pgstore.RememberSchema("auth.remember")
	if err != nil {
		log.Fatal(err)
	}
	os.Stdout.WriteString(schema[:strings.Index(schema, "(")] + "\n")
	// Output: CREATE TABLE IF NOT EXISTS auth.remember
}
