package sqlitestore_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// This example keeps remember-me tokens in the sessions' database, so that
// "keep me signed in" survives a restart of the server.
func ExampleNewRememberStore() {
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, ":memory:", sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	tokens, err := sqlitestore.NewRememberStore(ctx, store, sqlitestore.RememberOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer tokens.Close() // before store.Close, which closes the database

	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	rm, err := remember.New(remember.Config{Sessions: sessions, Store: tokens})
	if err != nil {
		log.Fatal(err)
	}
	_ = rm // rm.Issue at login, rm.Middleware inside sessions.Middleware

	schema, _ := sqlitestore.RememberSchema("tokens")
	fmt.Println(schema[:len("CREATE TABLE IF NOT EXISTS tokens")])
	// Output: CREATE TABLE IF NOT EXISTS tokens
}
