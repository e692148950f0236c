package remember_test

import (
	"net/http"
	"testing"

	"github.com/sessionkit/sessionkit"
)

// TestSessionLimitLeavesTheRequestAnonymous checks that a remember-me
// token of a user who already has as many sessions as
// Config.MaxSessionsPerUser allows (RejectNew) leaves the request
// anonymous instead of failing it, and keeps the token for later.
func TestSessionLimitLeavesTheRequestAnonymous(t *testing.T) {
	a := newApp(t, func(cfg *sessionkit.Config) {
		cfg.MaxSessionsPerUser, cfg.LimitPolicy = 1, sessionkit.RejectNew
	})
	c := loggedInWithRememberMe(t, a) // its session stays alive in the store
	res := c.do("GET", "/whoami")
	if got := readAll(t, res); res.StatusCode != http.StatusOK || got != " false" {
		t.Fatalf("restore beyond the limit: %d %q; want 200 and an anonymous request", res.StatusCode, got)
	}
	if c.cookies[cookieName] == "" {
		t.Fatal("the remember-me cookie was dropped")
	}
}
