// Package remembertest checks that an implementation of remember.Store
// keeps the contract that package remember relies on.
package remembertest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/remember"
)

// Run runs the conformance tests on stores made by newStore, one per
// subtest, each empty.
func Run(t *testing.T, newStore func(t *testing.T) remember.Store) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	token := func(sel, user string) remember.Token {
		return remember.Token{
			Selector: sel, UserID: user, Hash: sha256.Sum256([]byte(sel + "v1")),
			CreatedAt: now, ExpiresAt: now.Add(time.Hour), UserAgent: "test agent",
		}
	}

	t.Run("CreateGet", func(t *testing.T) {
		st := newStore(t)
		want := token("sel-a", "u1")
		if err := st.Create(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, "sel-a")
		if err != nil {
			t.Fatal(err)
		}
		if got.Selector != want.Selector || got.UserID != want.UserID || got.Hash != want.Hash ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.UserAgent != want.UserAgent {
			t.Errorf("Get = %+v, want %+v", got, want)
		}
		if err := st.Create(ctx, token("sel-a", "u2")); !errors.Is(err, remember.ErrExists) {
			t.Errorf("Create of a taken selector: %v, want ErrExists", err)
		}
		if _, err := st.Get(ctx, "sel-missing"); !errors.Is(err, remember.ErrNotFound) {
			t.Errorf("Get of a missing selector: %v, want ErrNotFound", err)
		}
	})

	t.Run("Rotate", func(t *testing.T) {
		st := newStore(t)
		tok := token("sel-r", "u1")
		if err := st.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		newHash := sha256.Sum256([]byte("v2"))
		grace := now.Add(30 * time.Second)
		if err := st.Rotate(ctx, "sel-r", tok.Hash, newHash, grace); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, "sel-r")
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash != newHash || got.PrevHash != tok.Hash || !got.GraceUntil.Equal(grace) || !got.ExpiresAt.Equal(tok.ExpiresAt) {
			t.Errorf("after Rotate: %+v", got)
		}
		if err := st.Rotate(ctx, "sel-r", tok.Hash, sha256.Sum256([]byte("v3")), grace); !errors.Is(err, remember.ErrConflict) {
			t.Errorf("Rotate from a replaced hash: %v, want ErrConflict", err)
		}
		if err := st.Rotate(ctx, "sel-missing", tok.Hash, newHash, grace); !errors.Is(err, remember.ErrNotFound) {
			t.Errorf("Rotate of a missing selector: %v, want ErrNotFound", err)
		}
	})

	t.Run("RotateIsAtomic", func(t *testing.T) {
		st := newStore(t)
		tok := token("sel-c", "u1")
		if err := st.Create(ctx, tok); err != nil {
			t.Fatal(err)
		}
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				errs <- st.Rotate(ctx, "sel-c", tok.Hash, sha256.Sum256(fmt.Appendf(nil, "v%d", i)), now)
			})
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, remember.ErrConflict):
				t.Errorf("parallel Rotate: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d parallel rotations from one hash succeeded, want exactly 1", won)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		st := newStore(t)
		for _, tok := range []remember.Token{token("s1", "u1"), token("s2", "u1"), token("s3", "u2")} {
			if err := st.Create(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Delete(ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, "s1"); err != nil {
			t.Errorf("Delete of a missing token: %v", err)
		}
		if _, err := st.Get(ctx, "s1"); !errors.Is(err, remember.ErrNotFound) {
			t.Errorf("Get after Delete: %v, want ErrNotFound", err)
		}
		if err := st.Create(ctx, token("s4", "u1")); err != nil {
			t.Fatal(err)
		}
		n, err := st.DeleteUser(ctx, "u1")
		if err != nil || n != 2 {
			t.Errorf("DeleteUser = %d, %v; want 2, nil", n, err)
		}
		for _, sel := range []string{"s2", "s4"} {
			if _, err := st.Get(ctx, sel); !errors.Is(err, remember.ErrNotFound) {
				t.Errorf("Get(%s) after DeleteUser: %v, want ErrNotFound", sel, err)
			}
		}
		if _, err := st.Get(ctx, "s3"); err != nil {
			t.Errorf("another user's token after DeleteUser: %v", err)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		st := newStore(t)
		old, live := token("old", "u1"), token("live", "u1")
		old.ExpiresAt = now
		if err := st.Create(ctx, old); err != nil {
			t.Fatal(err)
		}
		if err := st.Create(ctx, live); err != nil {
			t.Fatal(err)
		}
		n, err := st.DeleteExpired(ctx, now)
		if err != nil || n != 1 {
			t.Errorf("DeleteExpired = %d, %v; want 1, nil", n, err)
		}
		if _, err := st.Get(ctx, "old"); !errors.Is(err, remember.ErrNotFound) {
			t.Errorf("expired token after DeleteExpired: %v", err)
		}
		if _, err := st.Get(ctx, "live"); err != nil {
			t.Errorf("live token after DeleteExpired: %v", err)
		}
	})
}
