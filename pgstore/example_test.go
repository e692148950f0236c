package pgstore_test

import (
	"context"
	"log"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/pgstore"
)

func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// New creates the tables if needed; it fails with an error wrapping
	// sessionkit.ErrUnavailable when the database cannot be reached.
	store, err := pgstore.New(ctx, pool, pgstore.Options{Table: "auth.sessions"})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	m, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	_ = m // wrap your handler with m.Middleware
}

func ExampleSchema() {
	// Print the statements to put in your own migration.
	schema, err := pgstore.Schema("auth.sessions")
	if err != nil {
		log.Fatal(err)
	}
	os.Stdout.WriteString(schema[:strings.Index(schema, "(")] + "\n")
	// Output: CREATE TABLE IF NOT EXISTS auth.sessions
}
