// Package sessiontest is the conformance suite for sessionkit stores.
//
// Every Store implementation calls Run from its own tests:
//
//	func TestConformance(t *testing.T) {
//		sessiontest.Run(t, sessiontest.Options{
//			New: func(t *testing.T) sessionkit.Store { return newTestStore(t) },
//		})
//	}
package sessiontest

import (
	"testing"

	"github.com/sessionkit/sessionkit"
)

// Options configures Run.
type Options struct {
	// New returns a store for one test. It may return the same store each
	// time: the suite uses fresh random IDs and user IDs in every test.
	// Clean-up belongs in t.Cleanup.
	New func(t *testing.T) sessionkit.Store
}

// Run runs the conformance suite against the store that opts.New returns.
func Run(t *testing.T, opts Options) {
	t.Helper()
	_ = opts
}
