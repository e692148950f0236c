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
// optional capabilities the store implements (UserIndex, Iterator), that
// expiry follows the store's clock option (Options.NewWithClock), and the
// behaviour users see through the middleware on top of the store: cookies,
// renewal, destroy, idle and absolute expiry with a fake clock, remember-me,
// concurrent requests, and that no store ever holds a usable token.
//
// Client-side stores call RunClient, which runs the middleware-level tests
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
	// NewWithClock, if set, returns a store for one test that decides
	// whether a session has expired by now instead of the real clock (a
	// store's Options.Now). The suite then checks that expiry follows that
	// clock. Stores with such an option should set it.
	NewWithClock func(t *testing.T, now func() time.Time) sessionkit.Store
}

// Run runs the conformance suite against the store that opts.New returns.
func Run(t *testing.T, opts Options) {
	t.Helper()
	if opts.New == nil {
		t.Fatal("sessiontest: Options.New is nil")
	}
	t.Run("Contract", func(t *testing.T) { runContract(t, opts) })
	t.Run("UserIndex", func(t *testing.T) {
		idx, ok := opts.New(t).(sessionkit.UserIndex)
		if !ok {
			t.Skip("store does not implement sessionkit.UserIndex")
		}
		runUserIndex(t, idx)
	})
	t.Run("Iterator", func(t *testing.T) {
		st := opts.New(t)
		if _, ok := st.(sessionkit.Iterator); !ok {
			t.Skip("store does not implement sessionkit.Iterator")
		}
		runIterator(t, st)
	})
	if opts.NewWithClock != nil {
		// Not a skipped test when unset: a store without a clock option
		// has nothing to check here.
		t.Run("Clock", func(t *testing.T) { runClock(t, opts.NewWithClock) })
	}
	t.Run("Middleware", func(t *testing.T) {
		runManager(t, harness{
			config: func(t *testing.T) sessionkit.Config { return sessionkit.Config{Store: opts.New(t)} },
			dump:   opts.Dump,
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

// RunClient runs the middleware-level tests that apply to a client-side
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
