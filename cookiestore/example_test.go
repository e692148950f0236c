package cookiestore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
)

func Example() {
	ctx := context.Background()
	// In production each key is at least 32 random bytes from a secret
	// store; new keys go first, old ones stay until their cookies expire.
	key := []byte("an example key of 32 bytes or more, never use it")

	store, err := cookiestore.New(cookiestore.Options{
		Keys:        [][]byte{key},
		CookieName:  "__Host-sid",
		Revocations: cookiestore.NewMemoryRevocations(nil),
	})
	if err != nil {
		log.Fatal(err)
	}

	now := time.Now()
	rec := &sessionkit.Record{
		ID:             "session-id",
		UserID:         "alice",
		Values:         map[string][]byte{"theme": []byte("dark")},
		CreatedAt:      now,
		LastSeen:       now,
		ExpiresAt:      now.Add(30 * time.Minute),
		AbsoluteExpiry: now.Add(8 * time.Hour),
	}
	value, err := store.Seal(ctx, rec)
	if err != nil {
		log.Fatal(err) // for example ErrTooLarge
	}

	// value is sent as the cookie __Host-sid and comes back on the next
	// request.
	got, reseal, err := store.OpenReseal(ctx, value)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("user %s, theme %s, reseal %v\n", got.UserID, got.Values["theme"], reseal)

	// Logout: the same value no longer opens.
	if err := store.Revoke(ctx, got); err != nil {
		log.Fatal(err)
	}
	got, err = store.Open(ctx, value)
	fmt.Println("after logout:", got, err)

	// Output:
	// user alice, theme dark, reseal false
	// after logout: <nil> <nil>
}
