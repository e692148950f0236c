package app

import (
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

// TestCookieLogoutAcrossInstances runs two app instances with cookie:
// sessions and one user store: with a shared revocation list (-revocations
// sqlite:PATH) a logout on one instance ends a stolen copy of the cookie on
// the other and on a restarted instance; with the default in-memory list it
// does not (the documented per-instance limit).
func TestCookieLogoutAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		revocations string
		shared      bool
	}{
		{"", false},
		{"sqlite:", true},
	} {
		t.Run("revocations="+tc.revocations, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			users := "sqlite:" + filepath.Join(dir, "users.db")
			revs := tc.revocations
			if revs == "sqlite:" {
				revs += filepath.Join(dir, "revocations.db")
			}
			instance := func() *env {
				return openEnvWith(t, "cookie:", users, SessionOptions{Revocations: revs})
			}
			a, b := instance(), instance()
			victim, attacker := a.client("victim"), b.client("attacker")
			apptest.MustSeeOther(t, victim.Register("victim", apptest.TestPassword), "/")
			stolen := victim.SessionCookie()
			attacker.SetSessionCookie(stolen)
			attacker.LoggedInAs("victim")

			apptest.MustSeeOther(t, victim.Logout(), "/login")
			if !tc.shared {
				attacker.LoggedInAs("victim")
				return
			}
			attacker.Anonymous()
			restarted := instance().client("attacker")
			restarted.SetSessionCookie(stolen)
			restarted.Anonymous()
		})
	}
}
