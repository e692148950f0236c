// Package sudo records when and how a session's user authenticated, and
// guards routes by it: "sudo mode" asks for a recent authentication before
// a password, email or MFA change, and a route may require methods such as
// a second factor (RequireMethods) or an assurance level (RequireLevel).
//
// The record is a reserved session value (sessionkit.auth, which
// Session.Put refuses), encoded with the manager's Codec together with the
// user it was made for, so it needs no store support. It moves with
// Renew(true) and disappears with Clear, Renew(false) and Destroy. A record
// of another user than the session's, a missing record, or one that
// includes MethodRememberMe is never fresh.
package sudo

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/reserved"
)

// Authentication methods for MarkAuthenticated. Any other name may be used
// too; Level counts MethodPassword as a knowledge factor and MethodTOTP and
// MethodWebAuthn as possession factors, and MethodRememberMe has the meaning
// Fresh and Level give it.
const (
	MethodPassword   = "password"
	MethodTOTP       = "totp"
	MethodWebAuthn   = "webauthn"
	MethodRememberMe = "remember-me" // never fresh, level 0: see Fresh and Level
)

// The assurance levels Level returns, after the authenticator assurance
// levels (AAL) of NIST SP 800-63B.
const (
	LevelNone = 0 // no authentication recorded, or a remember-me restore
	Level1    = 1 // one factor (AAL1)
	Level2    = 2 // a knowledge and a possession factor (AAL2)
)

const key = "sessionkit.auth"

// record is what MarkAuthenticated stores under key.
type record struct {
	At      time.Time `json:"at"`
	Methods []string  `json:"methods"`
	UserID  string    `json:"user"`
}

// MarkAuthenticated records that the session's user authenticated now (by
// the manager's clock, Config.Now) with the given methods, such as
// MethodPassword and MethodTOTP after a second factor. Call it at every
// login and re-authentication, after Renew and SetUserID; it replaces what
// an earlier call recorded.
func MarkAuthenticated(s *sessionkit.Session, methods ...string) error {
	if len(methods) == 0 || slices.Contains(methods, "") {
		return errors.New("sudo: MarkAuthenticated needs at least one non-empty method")
	}
	return reserved.Put(s, key, func(userID string, now time.Time) (any, error) {
		if userID == "" {
			return nil, errors.New("sudo: MarkAuthenticated on a session without a user (call SetUserID first)")
		}
		return record{At: now.UTC(), Methods: slices.Clone(methods), UserID: userID}, nil
	})
}

// Authentication returns when and how the session's user last
// authenticated, as recorded by MarkAuthenticated. ok is false when nothing
// is recorded for the session's current user.
func Authentication(s *sessionkit.Session) (at time.Time, methods []string, ok bool) {
	a, ok, err := sessionkit.Get[record](s, key)
	if err != nil || !ok || a.UserID == "" || a.UserID != s.UserID() || len(a.Methods) == 0 {
		return time.Time{}, nil, false
	}
	return a.At, a.Methods, true
}

// Fresh reports whether the session's user authenticated within maxAge of
// now (Config.Now) with something other than remember-me: the test for
// sudo mode before changing a password, an email address or MFA, or
// revoking devices.
func Fresh(s *sessionkit.Session, maxAge time.Duration) bool {
	at, methods, ok := Authentication(s)
	if !ok || maxAge <= 0 || slices.Contains(methods, MethodRememberMe) {
		return false
	}
	return reserved.Clock(s).Sub(at) <= maxAge
}

// AuthenticatedWith reports whether the session's last authentication used
// every one of methods, whatever its age.
func AuthenticatedWith(s *sessionkit.Session, methods ...string) bool {
	_, have, ok := Authentication(s)
	return ok && !slices.ContainsFunc(methods, func(m string) bool { return !slices.Contains(have, m) })
}

// Level returns the assurance level of the session's last authentication
// (MarkAuthenticated), derived from its methods: Level2 when they include
// MethodPassword and one of MethodTOTP or MethodWebAuthn, Level1 for any
// other non-empty set, and LevelNone when nothing is recorded for the
// session's current user or the methods include MethodRememberMe (a restore
// from a long-lived cookie, not an authentication). It says nothing about
// age: combine it with Fresh for that.
//
// Level never returns AAL3: that needs facts sudo cannot check, such as a
// hardware-bound, phishing-resistant authenticator and verifier
// requirements. An application that knows them can record a method of its
// own (for example "webauthn-hardware") and require it with RequireMethods.
// Likewise, a WebAuthn authenticator that verified the user counts only as
// possession here: record MethodPassword as well for Level2.
func Level(s *sessionkit.Session) int {
	_, methods, ok := Authentication(s)
	switch {
	case !ok || slices.Contains(methods, MethodRememberMe):
		return LevelNone
	case slices.Contains(methods, MethodPassword) &&
		(slices.Contains(methods, MethodTOTP) || slices.Contains(methods, MethodWebAuthn)):
		return Level2
	}
	return Level1
}

// RequireLevel returns middleware that lets a request through only when its
// session's Level is at least level, and otherwise hands it to onLow; a nil
// onLow answers 403 Forbidden. A level of LevelNone lets every request
// through. It must run inside m.Middleware.
func RequireLevel(m *sessionkit.Manager, level int, onLow http.Handler) func(http.Handler) http.Handler {
	return guard(m, onLow, "higher authentication assurance required", func(s *sessionkit.Session) bool { return Level(s) >= level })
}

// RequireRecentAuth returns middleware that lets a request through only when
// its session is Fresh(maxAge), and otherwise hands it to onStale, for
// example a redirect to a page that asks for the password again and then
// calls MarkAuthenticated. A nil onStale answers 403 Forbidden. It must run
// inside m.Middleware.
func RequireRecentAuth(m *sessionkit.Manager, maxAge time.Duration, onStale http.Handler) func(http.Handler) http.Handler {
	return guard(m, onStale, "recent authentication required", func(s *sessionkit.Session) bool { return Fresh(s, maxAge) })
}

// RequireMethods returns middleware that lets a request through only when
// its session's last authentication used every one of methods
// (AuthenticatedWith), and otherwise hands it to onMissing; a nil onMissing
// answers 403 Forbidden. It must run inside m.Middleware.
func RequireMethods(m *sessionkit.Manager, onMissing http.Handler, methods ...string) func(http.Handler) http.Handler {
	return guard(m, onMissing, "authentication method required", func(s *sessionkit.Session) bool { return AuthenticatedWith(s, methods...) })
}

// guard lets a request through when ok holds for its session, and otherwise
// hands it to deny, or answers 403 with msg when deny is nil.
func guard(m *sessionkit.Manager, deny http.Handler, msg string, ok func(*sessionkit.Session) bool) func(http.Handler) http.Handler {
	if deny == nil {
		deny = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, msg, http.StatusForbidden) })
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if ok(m.Session(r.Context())) {
				next.ServeHTTP(w, r)
				return
			}
			deny.ServeHTTP(w, r)
		})
	}
}
