package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

// A password change and signing devices out need a password entry younger
// than SudoMaxAge; an older one sends the user to /reauth first, and after
// it the action works.
func TestSudoMode(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()} // the memory store expires by the real clock
	e := newEnv(t, func(o *envOptions) { o.opts.Now = clock.Now })
	c := e.client("sudo")
	apptest.MustSeeOther(t, c.Register("sudoer", apptest.TestPassword), "/")

	// Fresh after registration.
	apptest.MustSeeOther(t, c.Post("/sessions/revoke-others", nil), "/sessions")

	clock.Advance(SudoMaxAge + time.Minute)
	apptest.MustSeeOther(t, c.Post("/sessions/revoke-others", nil), "/reauth?next=%2Fsessions")
	apptest.MustSeeOther(t, c.Post("/sessions/revoke", apptest.Form("id", "x")), "/reauth?next=%2Fsessions")
	apptest.MustSeeOther(t, c.Post("/password", apptest.Form("current_password", apptest.TestPassword, "new_password", "a brand new passphrase")), "/reauth?next=%2F")
	if r := c.Get("/reauth?next=%2Fsessions"); r.StatusCode != http.StatusOK || !strings.Contains(r.Text, `name="next" value="/sessions"`) {
		t.Fatalf("GET /reauth: %d\n%s", r.StatusCode, r.Text)
	}
	// The password did not change.
	other := e.client("other")
	apptest.MustSeeOther(t, other.Login("sudoer", apptest.TestPassword, false), "/")

	// A wrong password is refused; an outside next is ignored.
	if r := c.Post("/reauth", apptest.Form("password", "not my password", "next", "/sessions")); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("re-auth with a wrong password: %d, want 401", r.StatusCode)
	}
	apptest.MustSeeOther(t, c.Post("/reauth", apptest.Form("password", apptest.TestPassword, "next", "https://evil.example/")), "/")
	apptest.MustSeeOther(t, c.Post("/sessions/revoke-others", nil), "/sessions")
	apptest.MustSeeOther(t, c.Post("/password", apptest.Form("current_password", apptest.TestPassword, "new_password", "a brand new passphrase")), "/")

	// A fresh login is fresh again.
	clock.Advance(SudoMaxAge + time.Minute)
	apptest.MustSeeOther(t, c.Post("/sessions/revoke-others", nil), "/reauth?next=%2Fsessions")
	apptest.MustSeeOther(t, c.Login("sudoer", "a brand new passphrase", false), "/")
	apptest.MustSeeOther(t, c.Post("/sessions/revoke-others", nil), "/sessions")
	// Not logged in: to the login page, not the re-auth page.
	apptest.MustSeeOther(t, e.client("anonymous").Post("/password", nil), "/login")
}
