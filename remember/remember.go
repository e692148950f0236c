// Package remember implements "remember me" as a separate, rotating token
// beside the session, instead of a session that lives for 30 days.
//
// At login with the box ticked, Issue stores a token and sets the cookie
// __Host-remember=selector.validator: a 128-bit selector that names the
// token and a 256-bit validator of which the store keeps only the SHA-256.
// When a request comes without a logged-in session, Middleware (or Restore)
// checks the validator in constant time, rotates it (a new validator in a
// new cookie; the old one stays valid for Config.Grace, for requests the
// browser sent in parallel) and starts a new session for the token's user:
// Renew, SetUserID and sudo.MarkAuthenticated(s, sudo.MethodRememberMe), so
// the session is never fresh (sudo.Fresh) and sensitive
// actions ask for the password again.
//
// Theft detection: a known selector with a validator that is neither the
// current one nor the previous one within its grace means that the cookie
// was copied and used by someone else (the Miller/Jaspan scheme). Restore
// then deletes every remember-me token of the user, ends every session of
// the user (sessionkit.Manager.RevokeUserSessions) and reports a Theft to
// Config.OnTheft.
//
// A token's expiry is fixed at creation (Config.Lifetime); rotations never
// extend it. Logout should call Forget; a password change, "sign out
// everywhere" or disabling an account should call ForgetUser.
//
// Tokens live in a Store. MemoryStore keeps them in memory, for tests and
// single-instance development servers. The store modules keep them beside
// the sessions, so that they survive restarts and every instance sees
// them: redisstore.NewRememberStore (a compare-and-swap script for Rotate,
// keys that expire at ExpiresAt, a per-user set for DeleteUser on a
// Cluster; rueidisstore.NewRememberStore on the same keys),
// pgstore.NewRememberStore and sqlitestore.NewRememberStore (a
// table, Rotate as a conditional UPDATE, expired rows purged by the
// stores' cleanup loop) and mongostore.NewRememberStore (an update
// conditional on the hash). Package remembertest checks an implementation.
package remember

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/sudo"
)

// Defaults of Config.
const (
	DefaultLifetime           = 30 * 24 * time.Hour
	DefaultGrace              = 30 * time.Second
	DefaultCookieName         = "__Host-remember"
	DefaultInsecureCookieName = "remember" // with Config.Insecure
)

// Errors of Restore for a cookie that logs nobody in.
var (
	// ErrNoCookie: the request carries no remember-me cookie.
	ErrNoCookie = errors.New("remember: no cookie")
	// ErrExpired: the token's lifetime is over.
	ErrExpired = errors.New("remember: token expired")
	// ErrTheft: the cookie carried a validator that was already replaced;
	// every token and session of the user has been ended.
	ErrTheft = errors.New("remember: token reused after rotation (possible theft)")
	// ErrRefused: Config.OnRestore refused the login.
	ErrRefused = errors.New("remember: login refused")
)

// Config configures a Manager. Sessions and Store are required.
type Config struct {
	// Sessions is the session manager whose sessions the tokens start.
	Sessions *sessionkit.Manager
	// Store keeps the tokens.
	Store Store
	// Lifetime is how long a token lasts from its creation, rotations
	// included (default 30 days).
	Lifetime time.Duration
	// Grace is how long a replaced validator still works, for requests the
	// browser sent before it saw the new cookie (default 30 seconds).
	Grace time.Duration
	// CookieName defaults to "__Host-remember", or "remember" when
	// Insecure.
	CookieName string
	// Insecure drops the Secure attribute, for plain-HTTP development on
	// localhost only.
	Insecure bool
	// Now is the clock (default time.Now). Give it the session manager's
	// clock (sessionkit.Config.Now).
	Now func() time.Time
	// OnTheft, if set, is called after a theft was detected and answered.
	OnTheft func(ctx context.Context, t Theft)
	// OnRestore, if set, is called with the new session of a restored
	// token, after Renew, SetUserID and MarkAuthenticated: the place to
	// check that the user may still sign in and to put the app's own
	// values. When it returns an error, the session is destroyed, the token
	// deleted and its cookie expired, and Restore returns the error joined
	// with ErrRefused.
	OnRestore func(ctx context.Context, s *sessionkit.Session, userID string) error
}

// Theft reports a reused remember-me token and what was done about it.
type Theft struct {
	// UserID is the user whose token was reused.
	UserID string
	// Tokens is how many remember-me tokens of the user were deleted.
	Tokens int
	// Sessions is how many sessions of the user were ended (-1 when the
	// session store cannot count them).
	Sessions int
	// Err is why the revocation failed, if it did.
	Err error
	// RemoteAddr and UserAgent describe the request that presented the
	// replaced validator.
	RemoteAddr, UserAgent string
}

// Manager issues, checks and rotates remember-me tokens. Create one with
// New; it is safe for concurrent use.
type Manager struct {
	cfg Config
}

// New checks cfg, fills in its defaults and returns a Manager.
func New(cfg Config) (*Manager, error) {
	if cfg.Sessions == nil || cfg.Store == nil {
		return nil, errors.New("remember: Config.Sessions and Config.Store are required")
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = DefaultLifetime
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Lifetime < 0 || cfg.Grace < 0 || cfg.Grace >= cfg.Lifetime {
		return nil, fmt.Errorf("remember: need 0 <= Grace (%v) < Lifetime (%v)", cfg.Grace, cfg.Lifetime)
	}
	if cfg.CookieName == "" {
		cfg.CookieName = DefaultCookieName
		if cfg.Insecure {
			cfg.CookieName = DefaultInsecureCookieName
		}
	}
	if cfg.Insecure && strings.HasPrefix(cfg.CookieName, "__Host-") {
		return nil, errors.New("remember: a __Host- cookie must be Secure")
	}
	if err := (&http.Cookie{Name: cfg.CookieName, Value: "x"}).Valid(); err != nil {
		return nil, fmt.Errorf("remember: invalid cookie name: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Manager{cfg: cfg}, nil
}

// Issue gives the device a new token for userID and sets its cookie. Call
// it at login when the user ticks "remember me". A token the request
// already carries is deleted first.
func (m *Manager) Issue(w http.ResponseWriter, r *http.Request, userID string) error {
	if userID == "" {
		return errors.New("remember: empty user ID")
	}
	if err := m.forgetCookie(r); err != nil {
		return err
	}
	sel, err := newSelector()
	if err != nil {
		return err
	}
	val, hash, err := newValidator()
	if err != nil {
		return err
	}
	now := m.cfg.Now()
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	t := Token{Selector: sel, UserID: userID, Hash: hash, CreatedAt: now, ExpiresAt: now.Add(m.cfg.Lifetime), UserAgent: ua}
	if err := m.cfg.Store.Create(r.Context(), t); err != nil {
		return err
	}
	http.SetCookie(w, m.cookie(sel+"."+val, t.ExpiresAt, now))
	return nil
}

// Restore logs the request in with its remember-me cookie: it checks and
// rotates the token and starts a new, non-fresh session for its user, whom
// it returns. It must run inside the session middleware, before the
// response starts. A cookie that logs nobody in is expired and reported as
// ErrNoCookie, ErrMalformed, ErrNotFound, ErrExpired, ErrTheft (possibly
// joined with the revocation's error) or ErrRefused; other errors come from
// the stores.
func (m *Manager) Restore(w http.ResponseWriter, r *http.Request) (userID string, err error) {
	ctx := r.Context()
	sel, validator, err := m.read(r)
	if err != nil {
		if !errors.Is(err, ErrNoCookie) {
			http.SetCookie(w, m.expired())
		}
		return "", err
	}
	t, rotated, err := m.check(r, sel, validator)
	if err != nil {
		if rejected(err) {
			http.SetCookie(w, m.expired())
		}
		return "", err
	}
	if rotated != "" {
		// Set before anything else can fail: the replaced validator works
		// only for Grace, and reused after it, it counts as theft.
		http.SetCookie(w, m.cookie(sel+"."+rotated, t.ExpiresAt, m.cfg.Now()))
	}
	s := m.cfg.Sessions.Session(ctx)
	if err := s.Renew(false); err != nil {
		return "", err
	}
	if err := s.SetUserID(t.UserID); err != nil {
		return "", err
	}
	if err := sudo.MarkAuthenticated(s, sudo.MethodRememberMe); err != nil {
		return "", err
	}
	if m.cfg.OnRestore != nil {
		if err := m.cfg.OnRestore(ctx, s, t.UserID); err != nil {
			http.SetCookie(w, m.expired())
			return "", errors.Join(ErrRefused, err, s.Destroy(), m.cfg.Store.Delete(ctx, sel))
		}
	}
	return t.UserID, nil
}

// check verifies the validator against the token sel and rotates it. It
// returns the token and the new encoded validator, or "" when the validator
// was the previous one within its grace (the parallel request that rotated
// it sets the new cookie).
func (m *Manager) check(r *http.Request, sel string, validator []byte) (Token, string, error) {
	ctx := r.Context()
	hash := sha256.Sum256(validator)
	// Two rounds: a Rotate conflict means that a parallel request rotated
	// the token between Get and Rotate; the second round then finds the
	// presented validator as the previous one.
	for range 2 {
		t, err := m.cfg.Store.Get(ctx, sel)
		if err != nil {
			return t, "", err
		}
		now := m.cfg.Now()
		if !now.Before(t.ExpiresAt) {
			return t, "", errors.Join(ErrExpired, m.cfg.Store.Delete(ctx, sel))
		}
		switch {
		case subtle.ConstantTimeCompare(hash[:], t.Hash[:]) == 1:
			val, newHash, err := newValidator()
			if err != nil {
				return t, "", err
			}
			err = m.cfg.Store.Rotate(ctx, sel, t.Hash, newHash, now.Add(m.cfg.Grace))
			if errors.Is(err, ErrConflict) {
				continue
			}
			return t, val, err
		case subtle.ConstantTimeCompare(hash[:], t.PrevHash[:]) == 1 && now.Before(t.GraceUntil):
			return t, "", nil
		default:
			return t, "", m.theft(r, t.UserID)
		}
	}
	return Token{}, "", errors.New("remember: token kept changing during the check")
}

// theft answers a replaced validator: it ends every token and session of
// userID and reports it.
func (m *Manager) theft(r *http.Request, userID string) error {
	ctx := r.Context()
	th := Theft{UserID: userID, RemoteAddr: r.RemoteAddr, UserAgent: r.UserAgent()}
	var errTokens, errSessions error
	th.Tokens, errTokens = m.cfg.Store.DeleteUser(ctx, userID)
	th.Sessions, errSessions = m.cfg.Sessions.RevokeUserSessions(ctx, userID)
	th.Err = errors.Join(errTokens, errSessions)
	if m.cfg.OnTheft != nil {
		m.cfg.OnTheft(ctx, th)
	}
	return errors.Join(ErrTheft, th.Err)
}

// rejected reports whether err means that the cookie logs nobody in, as
// opposed to a store failure.
func rejected(err error) bool {
	return errors.Is(err, ErrMalformed) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExpired) ||
		errors.Is(err, ErrTheft) || errors.Is(err, ErrRefused)
}

// Middleware restores the session of a request that carries a remember-me
// cookie but no logged-in session (see Restore). A cookie that logs nobody
// in leaves the request anonymous, and so does a user at
// sessionkit.Config.MaxSessionsPerUser under sessionkit.RejectNew (the
// token, rotated, stays for when a session ends); a store failure answers
// 503. It must run
// inside the session middleware:
//
//	sessions.Middleware(remember.Middleware(mux))
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.cfg.Sessions.Session(r.Context()).UserID() == "" {
			if _, err := m.Restore(w, r); err != nil && !errors.Is(err, ErrNoCookie) && !rejected(err) &&
				!errors.Is(err, sessionkit.ErrTooManySessions) {
				http.Error(w, "service unavailable", http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Forget deletes the device's token and expires its cookie. Call it at
// logout.
func (m *Manager) Forget(w http.ResponseWriter, r *http.Request) error {
	if _, ok := m.value(r); !ok {
		return nil
	}
	http.SetCookie(w, m.expired())
	return m.forgetCookie(r)
}

// ForgetUser deletes every token of userID and returns how many. Call it
// when the user changes or resets the password, signs out everywhere, or
// is disabled.
func (m *Manager) ForgetUser(ctx context.Context, userID string) (int, error) {
	return m.cfg.Store.DeleteUser(ctx, userID)
}

// forgetCookie deletes the token named by the request's cookie, if any.
func (m *Manager) forgetCookie(r *http.Request) error {
	sel, _, err := m.read(r)
	if err != nil {
		return nil // nothing of ours to delete
	}
	return m.cfg.Store.Delete(r.Context(), sel)
}

// read returns the selector and validator of the request's cookie. Of
// several cookies of the name (a shadowing cookie set for a parent domain
// or path), the first well-formed one counts.
func (m *Manager) read(r *http.Request) (string, []byte, error) {
	v, ok := m.value(r)
	if !ok {
		return "", nil, ErrNoCookie
	}
	return parseValue(v)
}

// value returns the first well-formed value among the request's cookies of
// the name, or else the first value.
func (m *Manager) value(r *http.Request) (string, bool) {
	cookies := r.CookiesNamed(m.cfg.CookieName)
	if len(cookies) == 0 {
		return "", false
	}
	for _, c := range cookies {
		if _, _, err := parseValue(c.Value); err == nil {
			return c.Value, true
		}
	}
	return cookies[0].Value, true
}

// cookie returns the remember-me cookie with value, valid until exp.
func (m *Manager) cookie(value string, exp, now time.Time) *http.Cookie {
	return &http.Cookie{
		Name: m.cfg.CookieName, Value: value, Path: "/",
		MaxAge: max(1, int(exp.Sub(now)/time.Second)), Expires: exp.UTC(),
		Secure: !m.cfg.Insecure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
}

// expired returns a cookie that deletes the remember-me cookie.
func (m *Manager) expired() *http.Cookie {
	return &http.Cookie{
		Name: m.cfg.CookieName, Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		Secure: !m.cfg.Insecure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
}
