package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

// withSessionLimit holds every account to max sessions under policy.
func withSessionLimit(max int, policy sessionkit.LimitPolicy) func(*envOptions) {
	return func(eo *envOptions) {
		eo.opts.MaxSessionsPerUser, eo.opts.SessionLimit = max, policy
	}
}

// TestSessionLimitRejectsLogin checks that with -max-sessions 2
// -session-limit reject, a third device's login is refused with 409 and
// a clear message on the login page, and the first two stay signed in.
func TestSessionLimitRejectsLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSessionLimit(2, sessionkit.RejectNew))
	laptop, phone, tablet := e.client("laptop"), e.client("phone"), e.client("tablet")
	apptest.MustSeeOther(t, laptop.Register("erin", apptest.TestPassword), "/")
	apptest.MustSeeOther(t, phone.Login("erin", apptest.TestPassword, false), "/")
	r := tablet.Login("erin", apptest.TestPassword, false)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Text, "signed in on too many devices") {
		t.Fatalf("login beyond the limit: %d, want 409 with the session-limit message\n%s", r.StatusCode, r.Text)
	}
	tablet.Anonymous()
	laptop.LoggedInAs("erin")
	phone.LoggedInAs("erin")
	if !strings.Contains(e.logs.String(), "login refused: session limit reached") {
		t.Errorf("the refusal was not logged:\n%s", e.logs)
	}
	// Signing out one device makes room.
	apptest.MustSeeOther(t, phone.Logout(), "/login")
	apptest.MustSeeOther(t, tablet.Login("erin", apptest.TestPassword, false), "/")
	tablet.LoggedInAs("erin")
}

// TestSessionLimitEvictsOldest checks that with -max-sessions 2
// -session-limit evict, a third device's login signs the oldest out.
func TestSessionLimitEvictsOldest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withSessionLimit(2, sessionkit.EvictOldest))
	laptop, phone, tablet := e.client("laptop"), e.client("phone"), e.client("tablet")
	apptest.MustSeeOther(t, laptop.Register("frank", apptest.TestPassword), "/")
	apptest.MustSeeOther(t, phone.Login("frank", apptest.TestPassword, false), "/")
	apptest.MustSeeOther(t, tablet.Login("frank", apptest.TestPassword, false), "/")
	laptop.Anonymous()
	phone.LoggedInAs("frank")
	tablet.LoggedInAs("frank")
	if !strings.Contains(e.logs.String(), `reason="session limit"`) {
		t.Errorf("the eviction was not logged:\n%s", e.logs)
	}
}

func TestSessionLimitFlags(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	c, err := ParseFlags(nil, getenv, io.Discard)
	if err != nil || c.MaxSessions != 0 || c.SessionLimit != sessionkit.EvictOldest {
		t.Fatalf("defaults: %d %v, %v; want unlimited, evict", c.MaxSessions, c.SessionLimit, err)
	}
	c, err = ParseFlags([]string{"-max-sessions", "3", "-session-limit", "reject"}, getenv, io.Discard)
	if err != nil || c.MaxSessions != 3 || c.SessionLimit != sessionkit.RejectNew {
		t.Fatalf("-max-sessions 3 -session-limit reject: %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"-max-sessions", "-1"}, {"-session-limit", "oldest"}} {
		if _, err := ParseFlags(bad, getenv, io.Discard); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
