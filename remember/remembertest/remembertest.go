// Package remembertest checks that an implementation of remember.Store
// keeps the contract that package remember relies on.
//
// Every Store implementation calls Run from its own tests:
//
//	func TestRememberConformance(t *testing.T) {
//		remembertest.Run(t, remembertest.Options{
//			New: func(t *testing.T) remember.Store { return newTestStore(t) },
//		})
//	}
//
// Each behaviour is a named subtest (CreateGet, RotateIsAtomic,
// DeleteUser, Expiry, CanceledContext, SecondInstance...), so that a
// failure points at one behaviour. The contract, in short:
//
//   - Rotate is a compare-and-swap on Token.Hash: of parallel rotations
//     from one hash, exactly one succeeds and the others get ErrConflict.
//   - ExpiresAt is kept as given. Get may return a token whose ExpiresAt has
//     passed (the manager checks it with its own clock), or not find it
//     when the server expires tokens by itself (Options.ServerExpiry).
//   - DeleteUser removes every token of the user, whatever the selectors,
//     and only those.
//   - A call whose context ended before it fails with an error that wraps
//     the context's error, and changes nothing.
package remembertest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/remember"
)

// Options configures Run.
type Options struct {
	// New returns an empty store for one subtest. Required.
	New func(t *testing.T) remember.Store
	// Reopen, if set, returns another instance on the storage of st, as a
	// second process or a restarted one opens it; the SecondInstance check
	// runs only with it.
	Reopen func(t *testing.T, st remember.Store) remember.Store
	// ServerExpiry tells that the server deletes a token by itself at its
	// ExpiresAt (a Redis key expiry), so that DeleteExpired has nothing to
	// do: the Expiry check then waits for the server instead of calling
	// DeleteExpired.
	ServerExpiry bool
}

// Run runs the conformance checks on the stores that opts describes.
func Run(t *testing.T, opts Options) {
	if opts.New == nil {
		t.Fatal("remembertest: Options.New is required")
	}
	checks := []struct {
		name string
		run  func(*testing.T, Options)
	}{
		{"CreateGet", createGet},
		{"Rotate", rotate},
		{"RotateIsAtomic", rotateIsAtomic},
		{"Delete", deleteToken},
		{"DeleteUser", deleteUser},
		{"Expiry", expiry},
		{"CanceledContext", canceledContext},
	}
	if opts.Reopen != nil {
		checks = append(checks, struct {
			name string
			run  func(*testing.T, Options)
		}{"SecondInstance", secondInstance})
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, opts) })
	}
}

// now is the creation time of the tokens of a check: the real clock, as
// stores that expire tokens by themselves use it, in milliseconds, which
// every store keeps.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// newToken returns a token of user under a random selector, created now
// and expiring in an hour.
func newToken(user string) remember.Token {
	b := make([]byte, 16)
	rand.Read(b)
	sel := hex.EncodeToString(b)
	n := now()
	return remember.Token{
		Selector: sel, UserID: user, Hash: sha256.Sum256([]byte(sel + "v1")),
		CreatedAt: n, ExpiresAt: n.Add(time.Hour), UserAgent: "test agent",
	}
}

// create stores tokens in st or fails the test.
func create(t *testing.T, st remember.Store, tokens ...remember.Token) {
	t.Helper()
	for _, tok := range tokens {
		if err := st.Create(t.Context(), tok); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
}

// wantGone checks that st has none of tokens.
func wantGone(t *testing.T, st remember.Store, tokens ...remember.Token) {
	t.Helper()
	for _, tok := range tokens {
		if _, err := st.Get(t.Context(), tok.Selector); !errors.Is(err, remember.ErrNotFound) {
			t.Errorf("Get(%s): %v, want ErrNotFound", tok.UserID, err)
		}
	}
}

// wantToken checks that st has tok as it was created.
func wantToken(t *testing.T, st remember.Store, tok remember.Token) {
	t.Helper()
	got, err := st.Get(t.Context(), tok.Selector)
	if err != nil {
		t.Errorf("Get(%s): %v", tok.UserID, err)
		return
	}
	if got.Selector != tok.Selector || got.UserID != tok.UserID || got.Hash != tok.Hash || got.PrevHash != tok.PrevHash ||
		!got.CreatedAt.Equal(tok.CreatedAt) || !got.ExpiresAt.Equal(tok.ExpiresAt) || got.UserAgent != tok.UserAgent {
		t.Errorf("Get = %+v, want %+v", got, tok)
	}
}

func createGet(t *testing.T, opts Options) {
	st := opts.New(t)
	want := newToken("u1")
	create(t, st, want)
	wantToken(t, st, want)
	taken := newToken("u2")
	taken.Selector = want.Selector
	if err := st.Create(t.Context(), taken); !errors.Is(err, remember.ErrExists) {
		t.Errorf("Create of a taken selector: %v, want ErrExists", err)
	}
	wantToken(t, st, want)
	wantGone(t, st, newToken("u1"))
}

func rotate(t *testing.T, opts Options) {
	st := opts.New(t)
	tok := newToken("u1")
	create(t, st, tok)
	newHash := sha256.Sum256([]byte("v2"))
	grace := now().Add(30 * time.Second)
	if err := st.Rotate(t.Context(), tok.Selector, tok.Hash, newHash, grace); err != nil {
		t.Fatal(err)
	}
	got, err := st.Get(t.Context(), tok.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != newHash || got.PrevHash != tok.Hash || !got.GraceUntil.Equal(grace) ||
		!got.ExpiresAt.Equal(tok.ExpiresAt) || got.UserID != tok.UserID {
		t.Errorf("after Rotate: %+v", got)
	}
	if err := st.Rotate(t.Context(), tok.Selector, tok.Hash, sha256.Sum256([]byte("v3")), grace); !errors.Is(err, remember.ErrConflict) {
		t.Errorf("Rotate from a replaced hash: %v, want ErrConflict", err)
	}
	if err := st.Rotate(t.Context(), newToken("u1").Selector, tok.Hash, newHash, grace); !errors.Is(err, remember.ErrNotFound) {
		t.Errorf("Rotate of a missing selector: %v, want ErrNotFound", err)
	}
}

func rotateIsAtomic(t *testing.T, opts Options) {
	st := opts.New(t)
	tok := newToken("u1")
	create(t, st, tok)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	hashes := make(chan [32]byte, n)
	for i := range n {
		wg.Go(func() {
			h := sha256.Sum256(fmt.Appendf(nil, "v%d", i))
			err := st.Rotate(t.Context(), tok.Selector, tok.Hash, h, now())
			if err == nil {
				hashes <- h
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	close(hashes)
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
		t.Fatalf("%d parallel rotations from one hash succeeded, want exactly 1", won)
	}
	got, err := st.Get(t.Context(), tok.Selector)
	if err != nil {
		t.Fatal(err)
	}
	if winner := <-hashes; got.Hash != winner || got.PrevHash != tok.Hash {
		t.Error("the stored hash is not the one of the rotation that succeeded")
	}
}

func deleteToken(t *testing.T, opts Options) {
	st := opts.New(t)
	a, b := newToken("u1"), newToken("u1")
	create(t, st, a, b)
	if err := st.Delete(t.Context(), a.Selector); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(t.Context(), a.Selector); err != nil {
		t.Errorf("Delete of a missing token: %v", err)
	}
	wantGone(t, st, a)
	wantToken(t, st, b)
	// A deleted token no longer counts for its user.
	if n, err := st.DeleteUser(t.Context(), "u1"); err != nil || n != 1 {
		t.Errorf("DeleteUser after Delete = %d, %v; want 1, nil", n, err)
	}
}

func deleteUser(t *testing.T, opts Options) {
	st := opts.New(t)
	// Enough tokens that random selectors land on several nodes of a
	// cluster.
	var mine, others []remember.Token
	for range 12 {
		mine = append(mine, newToken("thief-victim"))
	}
	others = append(others, newToken("someone-else"), newToken("thief-victim-2"))
	create(t, st, mine...)
	create(t, st, others...)
	n, err := st.DeleteUser(t.Context(), "thief-victim")
	if err != nil || n != len(mine) {
		t.Errorf("DeleteUser = %d, %v; want %d, nil", n, err, len(mine))
	}
	wantGone(t, st, mine...)
	for _, tok := range others {
		wantToken(t, st, tok)
	}
	if n, err := st.DeleteUser(t.Context(), "thief-victim"); err != nil || n != 0 {
		t.Errorf("second DeleteUser = %d, %v; want 0, nil", n, err)
	}
	if n, err := st.DeleteUser(t.Context(), "nobody"); err != nil || n != 0 {
		t.Errorf("DeleteUser of a user without tokens = %d, %v; want 0, nil", n, err)
	}
	// The user can get tokens again.
	again := newToken("thief-victim")
	create(t, st, again)
	wantToken(t, st, again)
}

func expiry(t *testing.T, opts Options) {
	st := opts.New(t)
	live := newToken("u1")
	if opts.ServerExpiry {
		short := newToken("u1")
		short.ExpiresAt = now().Add(time.Second)
		create(t, st, short, live)
		wantToken(t, st, short)
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := st.Get(t.Context(), short.Selector)
			if errors.Is(err, remember.ErrNotFound) {
				break
			}
			if err != nil || time.Now().After(deadline) {
				t.Fatalf("Get of a token past its ExpiresAt: %v; want ErrNotFound after the server expired it", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if _, err := st.DeleteExpired(t.Context(), now()); err != nil {
			t.Errorf("DeleteExpired: %v", err)
		}
		wantToken(t, st, live)
		return
	}
	old := newToken("u1")
	old.ExpiresAt = old.CreatedAt
	create(t, st, old, live)
	n, err := st.DeleteExpired(t.Context(), old.ExpiresAt)
	if err != nil || n != 1 {
		t.Errorf("DeleteExpired = %d, %v; want 1, nil", n, err)
	}
	wantGone(t, st, old)
	wantToken(t, st, live)
}

func canceledContext(t *testing.T, opts Options) {
	st := opts.New(t)
	tok := newToken("u1")
	create(t, st, tok)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want an error that wraps context.Canceled", op, err)
		}
	}
	fresh := newToken("u1")
	check("Create", st.Create(ctx, fresh))
	_, err := st.Get(ctx, tok.Selector)
	check("Get", err)
	check("Rotate", st.Rotate(ctx, tok.Selector, tok.Hash, sha256.Sum256([]byte("v2")), now()))
	check("Delete", st.Delete(ctx, tok.Selector))
	_, err = st.DeleteUser(ctx, "u1")
	check("DeleteUser", err)
	_, err = st.DeleteExpired(ctx, now().Add(2*time.Hour))
	check("DeleteExpired", err)
	// Nothing changed.
	wantGone(t, st, fresh)
	wantToken(t, st, tok)
}

func secondInstance(t *testing.T, opts Options) {
	a := opts.New(t)
	b := opts.Reopen(t, a)
	tok, other := newToken("u1"), newToken("u1")
	create(t, a, tok)
	create(t, b, other)
	wantToken(t, b, tok)
	wantToken(t, a, other)
	newHash := sha256.Sum256([]byte("v2"))
	if err := b.Rotate(t.Context(), tok.Selector, tok.Hash, newHash, now()); err != nil {
		t.Fatal(err)
	}
	if err := a.Rotate(t.Context(), tok.Selector, tok.Hash, sha256.Sum256([]byte("v3")), now()); !errors.Is(err, remember.ErrConflict) {
		t.Errorf("Rotate on the first instance after the second rotated: %v, want ErrConflict", err)
	}
	if got, err := a.Get(t.Context(), tok.Selector); err != nil || got.Hash != newHash {
		t.Errorf("first instance after the second rotated: %v; hash changed: %v", err, err == nil && got.Hash == newHash)
	}
	if n, err := a.DeleteUser(t.Context(), "u1"); err != nil || n != 2 {
		t.Errorf("DeleteUser = %d, %v; want 2, nil (tokens of both instances)", n, err)
	}
	wantGone(t, b, tok, other)
}
