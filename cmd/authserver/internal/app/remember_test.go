package app

import (
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/remember"
)

// With a remember-me token store, "keep me signed in" sets a rotating token
// beside a browser-session cookie; the token signs a new, non-fresh session
// in, and its reuse after rotation ends everything of the user.
func TestRememberMeTokens(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()} // the memory store expires by the real clock
	e := newEnv(t, func(o *envOptions) {
		o.opts.Now = clock.Now
		o.opts.Remember = remember.NewMemoryStore()
	})
	apptest.MustSeeOther(t, e.client("setup").Register("rita", apptest.TestPassword), "/")
	c := e.client("rita")
	r := c.Login("rita", apptest.TestPassword, true)
	apptest.MustSeeOther(t, r, "/")
	for _, sc := range r.SessionSetCookies() {
		if strings.Contains(sc, "Max-Age") {
			t.Errorf("session cookie with a token is persistent: %q", sc)
		}
	}
	token := c.Cookie(remember.DefaultCookieName)
	if token == nil {
		t.Fatal("no remember-me cookie after a login with the box ticked")
	}
	thief := c.OnServer(e.srv)

	// A browser restart: only the token is left. It signs in, but a
	// password change asks for the password first.
	c.DropSessionCookie()
	c.LoggedInAs("rita")
	if now := c.Cookie(remember.DefaultCookieName); now == nil || now.Value == token.Value {
		t.Fatalf("token not rotated: %v", now)
	}
	apptest.MustSeeOther(t, c.Post("/sessions/revoke-others", nil), "/reauth?next=%2Fsessions")

	// The copied, now replaced token after the grace: theft. Both browsers
	// are signed out.
	clock.Advance(remember.DefaultGrace + time.Second)
	thief.DropSessionCookie()
	thief.Anonymous()
	c.Anonymous()
	if !strings.Contains(e.logs.String(), "remember-me token reused after rotation") {
		t.Error("the theft was not logged")
	}

	// Logout forgets the device's token.
	apptest.MustSeeOther(t, c.Login("rita", apptest.TestPassword, true), "/")
	kept := c.OnServer(e.srv)
	apptest.MustSeeOther(t, c.Logout(), "/login")
	kept.DropSessionCookie()
	kept.Anonymous()

	// A password change forgets every token.
	apptest.MustSeeOther(t, c.Login("rita", apptest.TestPassword, true), "/")
	other := c.OnServer(e.srv)
	apptest.MustSeeOther(t, c.Post("/password", apptest.Form("current_password", apptest.TestPassword, "new_password", "a brand new passphrase")), "/")
	other.DropSessionCookie()
	other.Anonymous()

	// A disabled account's token signs nobody in.
	apptest.MustSeeOther(t, c.Login("rita", "a brand new passphrase", true), "/")
	d := c.OnServer(e.srv)
	d.DropSessionCookie()
	if err := e.app.SetUserDisabled(t.Context(), "rita", true); err != nil {
		t.Fatal(err)
	}
	d.Anonymous()
}
