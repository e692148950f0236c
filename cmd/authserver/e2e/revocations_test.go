package e2e

import (
	"net/http"
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/app"
	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/internal/testserver"
)

// TestCookieSessionsShareRedisRevocations runs two instances with cookie:
// sessions and -revocations redis://: a logout and "sign out everywhere
// else" on one instance end stolen copies of the cookies on the other; with
// Redis down, a cookie request answers 503 instead of accepting a cookie
// whose revocation cannot be checked.
func TestCookieSessionsShareRedisRevocations(t *testing.T) {
	t.Parallel()
	r := testserver.StartRedis(t)
	usersURL := "sqlite:" + filepath.Join(t.TempDir(), "users.db")
	opts := app.SessionOptions{Revocations: "redis://" + r.Addr + "?dial_timeout=1s&read_timeout=1s"}
	a, _ := startAppWith(t, "cookie:", opts, usersURL, true, false)
	b, _ := startAppWith(t, "cookie:", opts, usersURL, true, false)

	onA := apptest.NewClient(t, a, "browser")
	apptest.MustSeeOther(t, onA.Register("olga", apptest.TestPassword), "/")
	thief := apptest.NewClient(t, b, "thief")
	thief.SetSessionCookie(onA.SessionCookie())
	thief.LoggedInAs("olga")
	apptest.MustSeeOther(t, onA.Logout(), "/login")
	thief.Anonymous()

	// Sign out everywhere else through B ends a copy on A.
	laptop := apptest.NewClient(t, a, "laptop")
	apptest.MustSeeOther(t, laptop.Login("olga", apptest.TestPassword, false), "/")
	copyOnA := apptest.NewClient(t, a, "copy")
	copyOnA.SetSessionCookie(laptop.SessionCookie())
	phone := apptest.NewClient(t, b, "phone")
	apptest.MustSeeOther(t, phone.Login("olga", apptest.TestPassword, true), "/")
	apptest.MustSeeOther(t, phone.Post("/sessions/revoke-others", nil), "/sessions")
	phone.LoggedInAs("olga")
	copyOnA.Anonymous()

	// Fail closed: with the list unreachable, a cookie is not accepted.
	r.Stop()
	if res := phone.Get("/"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET / with the revocation list down: %d, want 503", res.StatusCode)
	}
}
