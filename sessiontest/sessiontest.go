// Package sessiontest is the conformance suite for sessionkit stores.
//
// Every Store implementation calls Run from its own tests:
//
//	func TestConformance(t *testing.T) {
//		sessiontest.Run(t, sessiontest.Options{
//			New: func(t *testing.T) sessionkit.Store { return newTestStore(t) },
//		})
//	}
//
// Run checks the store contract directly (see sessionkit.Store), the
// optional capabilities the store implements (sessionkit.UserIndex,
// sessionkit.Iterator, sessionkit.SessionLimiter, sessionkit.Remover), the
// behaviour users see through the middleware on top of the store: cookies,
// renewal, destroy, idle and absolute expiry with a fake clock,
// remember-me, concurrent requests, and that no store ever holds a usable
// token; and the lifecycle events of two managers sharing the store
// (Events/...): each creation, renewal, logout, revocation and expiry, on
// load or by Manager.Sweep, reported once across both, also when both end
// one session at once (the concurrent checks need a Remover).
//
// Each behaviour is a small named check, run as a subtest of that name
// (Contract/Update, UserIndex/Bounded, Middleware/IdleTimeout,
// Events/ExpiredBySweep...), so that
// a failure points at one behaviour; go test -run selects checks by name.
// The checks of a capability are registered only for stores that have it:
// the suite never skips a test.
//
// The contract the suite holds stores to, in short:
//
//   - Expiry is decided by the manager, with its own clock. A store has no
//     clock option. Load, ListByUser and Iterate may return records whose
//     ExpiresAt has passed, with that ExpiresAt intact, or hide them by the
//     store's own clock (a TTL, time.Now in a query); the suite accepts
//     both. A record hidden from Load is absent for Update and Touch too.
//     Create over an expired record may replace it or return ErrExists.
//     A store's cleanup of expired records is garbage collection.
//   - Update never creates a record: a record deleted by a parallel request
//     stays deleted.
//   - Cancellation is not an outage. A call whose context is already
//     canceled, or past its deadline, fails with an error that wraps
//     context.Canceled or context.DeadlineExceeded and not
//     sessionkit.ErrUnavailable, and changes nothing. The suite checks
//     contexts that ended before the call; a store may complete a call
//     whose context ends while it runs.
//
// Client-side stores call RunClient, which runs the middleware-level checks
// that apply to sessions kept in the cookie.
package sessiontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// Options configures Run.
type Options struct {
	// New returns a store for one test. It may return the same store each
	// time: the suite uses fresh random IDs and user IDs in every test.
	// Clean-up belongs in t.Cleanup.
	New func(t *testing.T) sessionkit.Store
	// Dump, if set, returns every byte the backend holds for the store (keys
	// and values), so the suite can check that no session token appears in
	// it. Stores should set it.
	Dump func(t *testing.T) []byte
}

// A storeCheck is one behaviour of sessionkit.Store.
type storeCheck struct {
	name string
	run  func(t *testing.T, st sessionkit.Store)
}

// A capabilityCheck is one behaviour of an optional capability C of a
// store (sessionkit.UserIndex, sessionkit.Iterator); st and c are the same
// store.
type capabilityCheck[C any] struct {
	name string
	run  func(t *testing.T, st sessionkit.Store, c C)
}

// runCapability runs checks, each as a subtest of its name, on stores from
// newStore, which implement C.
func runCapability[C any](t *testing.T, checks []capabilityCheck[C], newStore func(t *testing.T) sessionkit.Store) {
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			st := newStore(t)
			c.run(t, st, st.(C))
		})
	}
}

// Run runs the conformance suite against the store that opts.New returns.
func Run(t *testing.T, opts Options) {
	t.Helper()
	if opts.New == nil {
		t.Fatal("sessiontest: Options.New is nil")
	}
	// The store's capabilities decide which checks are registered.
	probe := opts.New(t)
	_, hasIndex := probe.(sessionkit.UserIndex)
	_, hasIterator := probe.(sessionkit.Iterator)
	_, hasLimiter := probe.(sessionkit.SessionLimiter)
	_, hasRemover := probe.(sessionkit.Remover)

	t.Run("Contract", func(t *testing.T) {
		for _, c := range contractChecks {
			t.Run(c.name, func(t *testing.T) { c.run(t, opts.New(t)) })
		}
	})
	if hasIndex {
		t.Run("UserIndex", func(t *testing.T) { runCapability(t, userIndexChecks, opts.New) })
	}
	if hasIterator {
		t.Run("Iterator", func(t *testing.T) { runCapability(t, iteratorChecks, opts.New) })
	}
	if hasLimiter {
		t.Run("SessionLimiter", func(t *testing.T) { runCapability(t, limiterChecks, opts.New) })
	}
	if hasRemover {
		t.Run("Remover", func(t *testing.T) { runCapability(t, removerChecks, opts.New) })
	}
	t.Run("Events", func(t *testing.T) { runEvents(t, capsOf(probe), opts.New) })
	t.Run("Middleware", func(t *testing.T) {
		runManager(t, harness{
			config:    func(t *testing.T) sessionkit.Config { return sessionkit.Config{Store: opts.New(t)} },
			dump:      opts.Dump,
			userIndex: hasIndex,
		})
	})
}

// ClientOptions configures RunClient.
type ClientOptions struct {
	// New returns a client store for one test. The suite sets the manager's
	// clock with Config.Now; now is that clock, which the store must use for
	// its own expiry checks.
	New func(t *testing.T, now func() time.Time) sessionkit.ClientStore
}

// RunClient runs the middleware-level checks that apply to a client-side
// store, one that keeps the whole session in the cookie.
func RunClient(t *testing.T, opts ClientOptions) {
	t.Helper()
	if opts.New == nil {
		t.Fatal("sessiontest: ClientOptions.New is nil")
	}
	runManager(t, harness{
		client: true,
		clientConfig: func(t *testing.T, now func() time.Time) sessionkit.Config {
			return sessionkit.Config{ClientStore: opts.New(t, now)}
		},
	})
}

// randomID returns a fresh store key shaped like the ones the manager makes.
func randomID(t testing.TB) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// now returns the current time at millisecond precision, which every store
// keeps exactly.
func now() time.Time { return time.Now().Truncate(time.Millisecond) }

// newRecord returns a live record with a fresh ID.
func newRecord(t testing.TB, user string) *sessionkit.Record {
	n := now()
	return &sessionkit.Record{
		ID:             randomID(t),
		UserID:         user,
		Values:         map[string][]byte{"name": []byte(`"gopher"`), "n": []byte("1")},
		CreatedAt:      n,
		LastSeen:       n,
		ExpiresAt:      n.Add(time.Hour),
		AbsoluteExpiry: n.Add(24 * time.Hour),
		Meta:           map[string]string{"ip": "192.0.2.1", "ua": "sessiontest/1.0"},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// equalRecords reports the first difference between two records, or "".
func equalRecords(want, got *sessionkit.Record) string {
	switch {
	case got == nil:
		return "record is nil"
	case want.ID != got.ID:
		return "ID differs: " + got.ID
	case want.UserID != got.UserID:
		return "UserID differs: " + got.UserID
	case !want.CreatedAt.Equal(got.CreatedAt):
		return "CreatedAt differs: " + got.CreatedAt.String()
	case !want.LastSeen.Equal(got.LastSeen):
		return "LastSeen differs: " + got.LastSeen.String()
	case !want.ExpiresAt.Equal(got.ExpiresAt):
		return "ExpiresAt differs: " + got.ExpiresAt.String()
	case !want.AbsoluteExpiry.Equal(got.AbsoluteExpiry):
		return "AbsoluteExpiry differs: " + got.AbsoluteExpiry.String()
	case want.Persistent != got.Persistent:
		return "Persistent differs"
	case len(want.Values) != len(got.Values):
		return "Values have a different number of keys"
	case len(want.Meta) != len(got.Meta):
		return "Meta has a different number of keys"
	}
	for k, v := range want.Values {
		g, ok := got.Values[k]
		if !ok {
			return "Values lack key " + quote(k)
		}
		if !bytes.Equal(v, g) {
			return "Values differ at key " + quote(k)
		}
	}
	for k, v := range want.Meta {
		if got.Meta[k] != v {
			return "Meta differs at key " + quote(k)
		}
	}
	return ""
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return "\"" + s + "\""
}

func base64RawURL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
