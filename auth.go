package sessionkit

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Authentication methods for Session.MarkAuthenticated. Any other name
// (such as "webauthn") may be used too; only MethodRememberMe has a meaning
// to sessionkit.
const (
	MethodPassword   = "password"
	MethodTOTP       = "totp"
	MethodRememberMe = "remember-me" // never fresh: see Session.Fresh
)

const authKey = reservedPrefix + "auth"

// authRecord is what MarkAuthenticated stores under authKey.
type authRecord struct {
	At      time.Time `json:"at"`
	Methods []string  `json:"methods"`
	UserID  string    `json:"user"`
}

// MarkAuthenticated records that the session's user authenticated now (by
// the manager's clock, Config.Now) with the given methods, such as
// MethodPassword and MethodTOTP after a second factor. Call it at every
// login and re-authentication, after Renew and SetUserID; it replaces what
// an earlier call recorded. The record is a reserved session value, so it
// needs no store support; Clear and Renew(false) remove it, and a record
// made for another user than the session's current one does not count.
func (s *Session) MarkAuthenticated(methods ...string) error {
	if len(methods) == 0 || slices.Contains(methods, "") {
		return errors.New("sessionkit: MarkAuthenticated needs at least one non-empty method")
	}
	if s.err != nil {
		return s.err
	}
	return s.change(func() error {
		if s.rec.UserID == "" {
			return errors.New("sessionkit: MarkAuthenticated on a session without a user (call SetUserID first)")
		}
		b, err := s.m.cfg.Codec.Marshal(authRecord{At: s.m.cfg.Now().UTC(), Methods: slices.Clone(methods), UserID: s.rec.UserID})
		if err != nil {
			return fmt.Errorf("sessionkit: encode authentication: %w", err)
		}
		s.setLocked(authKey, b)
		return nil
	})
}

// Authentication returns when and how the session's user last
// authenticated, as recorded by MarkAuthenticated. ok is false when nothing
// is recorded for the session's current user.
func (s *Session) Authentication() (at time.Time, methods []string, ok bool) {
	a, ok, err := Get[authRecord](s, authKey)
	if err != nil || !ok || a.UserID == "" || a.UserID != s.UserID() || len(a.Methods) == 0 {
		return time.Time{}, nil, false
	}
	return a.At, a.Methods, true
}

// Fresh reports whether the session's user authenticated within maxAge of
// now (Config.Now) with something other than remember-me: the test for
// "sudo mode" before changing a password, an email address or MFA, or
// revoking devices. A session restored through remember-me is never fresh,
// and neither is one without a recorded authentication.
func (s *Session) Fresh(maxAge time.Duration) bool {
	at, methods, ok := s.Authentication()
	if !ok || maxAge <= 0 || slices.Contains(methods, MethodRememberMe) {
		return false
	}
	return s.m.cfg.Now().Sub(at) <= maxAge
}

// RequireRecentAuth returns middleware that lets a request through only when
// its session is Fresh(maxAge), and otherwise hands it to onStale, for
// example a redirect to a page that asks for the password again and then
// calls MarkAuthenticated. A nil onStale answers 403 Forbidden. It must run
// inside Manager.Middleware.
func (m *Manager) RequireRecentAuth(maxAge time.Duration, onStale http.Handler) func(http.Handler) http.Handler {
	return m.guard(onStale, "recent authentication required", func(s *Session) bool { return s.Fresh(maxAge) })
}

// AuthenticatedWith reports whether the session's last authentication
// (MarkAuthenticated) used every one of methods, such as MethodPassword and
// MethodTOTP for a route that needs a second factor, whatever its age.
func (s *Session) AuthenticatedWith(methods ...string) bool {
	_, have, ok := s.Authentication()
	if !ok {
		return false
	}
	for _, m := range methods {
		if !slices.Contains(have, m) {
			return false
		}
	}
	return true
}

// RequireMethods returns middleware that lets a request through only when
// its session's last authentication used every one of methods
// (Session.AuthenticatedWith), and otherwise hands it to onMissing; a nil
// onMissing answers 403 Forbidden. Use it for routes that need a higher
// assurance level, such as a second factor. It must run inside
// Manager.Middleware.
func (m *Manager) RequireMethods(onMissing http.Handler, methods ...string) func(http.Handler) http.Handler {
	return m.guard(onMissing, "authentication method required", func(s *Session) bool { return s.AuthenticatedWith(methods...) })
}

// guard is the middleware of RequireRecentAuth and RequireMethods: it lets
// a request through when ok holds for its session, and otherwise hands it to
// deny, or answers 403 with msg when deny is nil.
func (m *Manager) guard(deny http.Handler, msg string, ok func(*Session) bool) func(http.Handler) http.Handler {
	if deny == nil {
		deny = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, msg, http.StatusForbidden)
		})
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
