package sqlitestore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// An expired session stays for KeepExpired, so that Manager.Sweep finds it
// and ends it with Remove, which reports whether this call removed it: of
// several instances that end one session, one reports its expiry.
func ExampleStore_Remove() {
	ctx := context.Background()
	store, err := sqlitestore.Open(ctx, ":memory:", sqlitestore.Options{KeepExpired: 10 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	now := time.Now()
	err = store.Create(ctx, &sessionkit.Record{
		ID: "key", CreatedAt: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour),
		ExpiresAt: now.Add(-time.Minute), AbsoluteExpiry: now.Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	n, err := store.DeleteExpired(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("deleted by the cleanup:", n)
	for range 2 {
		removed, err := store.Remove(ctx, "key")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("removed:", removed)
	}
	// Output:
	// deleted by the cleanup: 0
	// removed: true
	// removed: false
}
