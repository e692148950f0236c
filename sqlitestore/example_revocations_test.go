package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// This example shares the cookie store's revocation list between two app
// instances through one SQLite file: a logout on one ends the cookie on the
// other.
func ExampleOpenRevocations() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	keys := [][]byte{[]byte("an example key of at least 32 bytes, random in real life")}

	var closers []*sqlitestore.Revocations // closed at shutdown
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	instance := func() *cookiestore.Store {
		revs, err := sqlitestore.OpenRevocations(ctx, filepath.Join(dir, "revocations.db"), sqlitestore.RevocationsOptions{})
		if err != nil {
			log.Fatal(err)
		}
		closers = append(closers, revs)
		st, err := cookiestore.New(cookiestore.Options{Keys: keys, Revocations: revs})
		if err != nil {
			log.Fatal(err)
		}
		return st
	}
	a, b := instance(), instance()

	now := time.Now()
	rec := &sessionkit.Record{ID: "session-1", UserID: "alice", CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(30 * time.Minute), AbsoluteExpiry: now.Add(24 * time.Hour)}
	cookie, err := a.Seal(ctx, rec)
	if err != nil {
		log.Fatal(err)
	}
	if err := a.Revoke(ctx, rec); err != nil { // logout on instance a
		log.Fatal(err)
	}
	got, err := b.Open(ctx, cookie)
	fmt.Println("instance b opens the logged-out cookie:", got != nil, err)
	// Output: instance b opens the logged-out cookie: false <nil>
}
