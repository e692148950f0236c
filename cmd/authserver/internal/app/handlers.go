package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/sudo"
)

// genericLoginError is the one message for every failed login, whether the
// user exists or not.
const genericLoginError = "Invalid username or password."

// tooManySessionsError is the login page's error when the account is
// signed in on as many devices as Options.MaxSessionsPerUser allows and
// the policy is sessionkit.RejectNew.
const tooManySessionsError = "You are signed in on too many devices. Sign out on one of them (or use “Sign out everywhere else” there) and try again."

// credentialVersionKey is the session value holding the user's credential
// version at sign-in.
const credentialVersionKey = "auth.cv"

// busyRetryAfter is the Retry-After of an answer to a request that found no
// free password hashing slot.
const busyRetryAfter = 5 * time.Second

// errBusy is returned when no password hashing slot came free in time.
var errBusy = errors.New("no password hashing slot free")

// redirect answers 303 See Other, the right answer to a form POST.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// currentUser returns the logged-in user, or redirects to /login and
// returns nil.
func (a *App) currentUser(w http.ResponseWriter, r *http.Request) (*sessionkit.Session, *User) {
	s := a.sm.Session(r.Context())
	uid := s.UserID()
	if uid == "" {
		redirect(w, r, "/login")
		return s, nil
	}
	u, err := a.users.ByID(r.Context(), uid)
	if err != nil {
		a.serverError(w, r, err)
		return s, nil
	}
	if cv, _, _ := sessionkit.Get[int64](s, credentialVersionKey); u == nil || u.Disabled || cv != u.CredentialVersion {
		// The account is gone or disabled, or its password changed
		// after this session signed in: end the session.
		if err := s.Destroy(); err != nil {
			a.serverError(w, r, err)
			return s, nil
		}
		redirect(w, r, "/login")
		return s, nil
	}
	return s, u
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	_, u := a.currentUser(w, r)
	if u == nil {
		return
	}
	a.render(w, r, http.StatusOK, "home", &page{Title: "Home", User: u})
}

func (a *App) registerForm(w http.ResponseWriter, r *http.Request) {
	if a.sm.Session(r.Context()).UserID() != "" {
		redirect(w, r, "/")
		return
	}
	a.render(w, r, http.StatusOK, "register", &page{Title: "Create an account"})
}

func (a *App) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	p := &page{Title: "Create an account", Username: username}
	ip, client := a.clientIP(r), a.clientKey(r)
	// Every attempt counts: this also slows down probing for names.
	if ok, wait := a.regIP.Reserve(client); !ok {
		a.metrics.registrations.WithLabelValues("rate_limited").Inc()
		retryAfter(w, wait)
		p.Error = "Too many registration attempts from your network. Please try again later."
		a.render(w, r, http.StatusTooManyRequests, "register", p)
		return
	}
	if msg := UsernameProblem(username); msg != "" {
		p.Error = msg
	} else if msg := PasswordProblem(username, password); msg != "" {
		p.Error = msg
	}
	if p.Error != "" {
		a.metrics.registrations.WithLabelValues("rejected").Inc()
		a.render(w, r, http.StatusUnprocessableEntity, "register", p)
		return
	}
	hash, err := a.hash(ctx, password)
	if errors.Is(err, errBusy) {
		a.regIP.Release(client)
		a.busy(w, r, "register", p)
		return
	}
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	u := &User{Username: username, PasswordHash: hash}
	if err := a.users.Create(ctx, u); errors.Is(err, ErrUsernameTaken) {
		a.metrics.registrations.WithLabelValues("rejected").Inc()
		p.Error = "That username is taken. Please choose another one."
		a.render(w, r, http.StatusConflict, "register", p)
		return
	} else if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.metrics.registrations.WithLabelValues("succeeded").Inc()
	a.log.LogAttrs(ctx, slog.LevelInfo, "user registered", slog.String("user_id", u.ID), slog.String("ip", ip), userAgent(r))
	if err := a.startSession(r, u, false, "Welcome, "+u.Username+"! Your account is ready."); err != nil {
		a.serverError(w, r, err)
		return
	}
	redirect(w, r, "/")
}

// startSession logs u in on the request's session: a new token (no
// fixation), no data from before the login, the user link, the time of
// the password entry (for SudoMaxAge) and remember-me.
func (a *App) startSession(r *http.Request, u *User, remember bool, flash string) error {
	s := a.sm.Session(r.Context())
	if err := s.Renew(false); err != nil {
		return err
	}
	if err := s.SetUserID(u.ID); err != nil {
		return err
	}
	if err := sudo.MarkAuthenticated(s, sudo.MethodPassword); err != nil {
		return err
	}
	if err := s.Put(credentialVersionKey, u.CredentialVersion); err != nil {
		return err
	}
	// With remember-me tokens the session stays a browser-session cookie.
	if err := s.RememberMe(remember && a.rm == nil); err != nil {
		return err
	}
	return s.AddFlash("success", flash)
}

func (a *App) loginForm(w http.ResponseWriter, r *http.Request) {
	if a.sm.Session(r.Context()).UserID() != "" {
		redirect(w, r, "/")
		return
	}
	a.render(w, r, http.StatusOK, "login", &page{Title: "Sign in"})
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	username, password := r.PostFormValue("username"), r.PostFormValue("password")
	remember := r.PostFormValue("remember") != ""
	p := &page{Title: "Sign in", Username: username}
	ip := a.clientIP(r)

	g, ok, wait := a.reserveGuess(r, "login", accountKey(username), "")
	if !ok {
		a.metrics.logins.WithLabelValues("rate_limited").Inc()
		retryAfter(w, wait)
		p.Error = "Too many failed sign-in attempts. Please wait a few minutes and try again."
		a.render(w, r, http.StatusTooManyRequests, "login", p)
		return
	}

	u, err := a.users.ByUsername(ctx, username)
	if err != nil {
		g.refund()
		a.serverError(w, r, err)
		return
	}
	hash := a.dummy // unknown users cost the same hash as known ones
	if u != nil {
		hash = u.PasswordHash
	}
	ok, rehash, err := a.verify(ctx, hash, password)
	if errors.Is(err, errBusy) {
		g.refund()
		a.metrics.logins.WithLabelValues("unavailable").Inc()
		a.log.LogAttrs(ctx, slog.LevelWarn, "login: no password hashing slot free", slog.String("ip", ip), userAgent(r))
		a.busy(w, r, "login", p)
		return
	}
	if err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "password check failed", slog.String("error", err.Error()))
		ok = false
	}
	reason := ""
	if u != nil && ok {
		// The hash was read before the wait for a hashing slot: sign in
		// only if the password did not change (nor the account get
		// disabled) meanwhile.
		if reason, err = a.stale(ctx, u); err != nil {
			g.refund()
			a.serverError(w, r, err)
			return
		}
	}
	if u == nil || !ok || reason != "" {
		a.metrics.logins.WithLabelValues("failed").Inc()
		// The typed name may be a password typed into the wrong field:
		// the line names it by its keyed log identifier only.
		attrs := []slog.Attr{slog.String("ip", ip), userAgent(r), slog.Bool("known_user", u != nil)}
		if u != nil {
			attrs = append(attrs, slog.String("user_id", u.ID))
		}
		attrs = append(attrs, g.name())
		if reason != "" {
			attrs = append(attrs, slog.String("reason", reason))
		}
		a.log.LogAttrs(ctx, slog.LevelInfo, "login failed", attrs...)
		p.Error = genericLoginError
		a.render(w, r, http.StatusUnauthorized, "login", p)
		return
	}

	g.succeeded()
	if rehash {
		if h, err := a.hash(ctx, password); err == nil {
			if err := a.users.RehashPassword(ctx, u.ID, u.PasswordHash, h); err != nil {
				a.log.LogAttrs(ctx, slog.LevelError, "password hash upgrade failed", slog.String("user_id", u.ID), slog.String("error", err.Error()))
			} else {
				a.log.LogAttrs(ctx, slog.LevelInfo, "password hash upgraded to argon2id", slog.String("user_id", u.ID))
			}
		}
	}
	if err := a.startSession(r, u, remember, "Welcome back, "+u.Username+"!"); errors.Is(err, sessionkit.ErrTooManySessions) {
		a.metrics.logins.WithLabelValues("too_many_sessions").Inc()
		a.log.LogAttrs(ctx, slog.LevelInfo, "login refused: session limit reached", slog.String("user_id", u.ID), slog.String("ip", ip), userAgent(r))
		p.Error = tooManySessionsError
		a.render(w, r, http.StatusConflict, "login", p)
		return
	} else if err != nil {
		a.serverError(w, r, err)
		return
	}
	if err := a.rememberDevice(w, r, u.ID, remember); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.metrics.logins.WithLabelValues("succeeded").Inc()
	a.log.LogAttrs(ctx, slog.LevelInfo, "login succeeded", slog.String("user_id", u.ID), slog.String("ip", ip), userAgent(r), slog.Bool("remember", remember))
	redirect(w, r, "/")
}

// stale returns why u, read before its password was checked, may no longer
// sign in: the account is disabled, gone, or its credentials changed since.
func (a *App) stale(ctx context.Context, u *User) (string, error) {
	now, err := a.users.ByID(ctx, u.ID)
	switch {
	case err != nil:
		return "", err
	case now == nil:
		return "account deleted", nil
	case now.Disabled || u.Disabled:
		return "account disabled", nil
	case now.CredentialVersion != u.CredentialVersion:
		return "password changed during the check", nil
	}
	return "", nil
}

// busy answers 503 with Retry-After and the page: no password hashing slot
// came free in time.
func (a *App) busy(w http.ResponseWriter, r *http.Request, name string, p *page) {
	retryAfter(w, busyRetryAfter)
	p.Error = "The server is busy. Please try again in a few seconds."
	a.render(w, r, http.StatusServiceUnavailable, name, p)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	s := a.sm.Session(r.Context())
	uid := s.UserID()
	if err := a.forgetDevice(w, r); err != nil {
		a.serverError(w, r, err)
		return
	}
	s.SetReason(sessionkit.ReasonLogout)
	if err := s.Destroy(); err != nil {
		a.serverError(w, r, err)
		return
	}
	if uid != "" {
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "logout", slog.String("user_id", uid), slog.String("ip", a.clientIP(r)), userAgent(r))
	}
	// The response expires the session cookie; this clears every other
	// cookie of the site too. No new session carries a "signed out"
	// message: the browser is told to drop every cookie.
	w.Header().Set("Clear-Site-Data", `"cookies"`)
	redirect(w, r, "/login")
}

func (a *App) sessions(w http.ResponseWriter, r *http.Request) {
	s, u := a.currentUser(w, r)
	if u == nil {
		return
	}
	p := &page{Title: "Your devices", User: u, CurrentSession: s.ID()}
	list, err := a.sm.UserSessions(r.Context(), u.ID)
	switch {
	case errors.Is(err, sessionkit.ErrNotSupported):
		p.NoDeviceList = true
	case err != nil:
		a.serverError(w, r, err)
		return
	}
	// Newest first, the current one on top.
	for i := len(list) - 1; i >= 0; i-- {
		d := device{SessionInfo: list[i], Current: list[i].ID == p.CurrentSession}
		if d.Current {
			p.Devices = append([]device{d}, p.Devices...)
		} else {
			p.Devices = append(p.Devices, d)
			p.OtherDevices++
		}
	}
	a.render(w, r, http.StatusOK, "sessions", p)
}

func (a *App) revokeSession(w http.ResponseWriter, r *http.Request) {
	s, u := a.currentUser(w, r)
	if u == nil {
		return
	}
	id := r.PostFormValue("id")
	if id == s.ID() {
		a.logout(w, r)
		return
	}
	err := a.sm.RevokeSession(r.Context(), u.ID, id)
	if err == nil {
		err = a.forgetUser(r.Context(), u.ID)
	}
	switch {
	case errors.Is(err, sessionkit.ErrNotSupported):
		_ = s.AddFlash("error", "This session store cannot end single devices; use “Sign out everywhere else”.")
	case err != nil:
		a.serverError(w, r, err)
		return
	default:
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "session revoked", slog.String("user_id", u.ID), slog.Any("session", a.sm.LogID(id)),
			slog.String("ip", a.clientIP(r)), userAgent(r))
		_ = s.AddFlash("success", "That device has been signed out.")
	}
	redirect(w, r, "/sessions")
}

// endOtherSessions ends every session of the user but the current one,
// which gets a new token, and forgets every remember-me token. The order matters for the cookie store, which
// revokes by creation time: revoke first, then renew.
func (a *App) endOtherSessions(ctx context.Context, s *sessionkit.Session) (int, error) {
	n, err := s.RevokeOtherSessions()
	if err != nil {
		return 0, err
	}
	if err := a.forgetUser(ctx, s.UserID()); err != nil {
		return 0, err
	}
	return n, s.Renew(true)
}

func (a *App) revokeOthers(w http.ResponseWriter, r *http.Request) {
	s, u := a.currentUser(w, r)
	if u == nil {
		return
	}
	n, err := a.endOtherSessions(r.Context(), s)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "other sessions revoked", slog.String("user_id", u.ID), slog.Int("count", n),
		slog.String("ip", a.clientIP(r)), userAgent(r))
	msg := "You have been signed out everywhere else."
	switch {
	case n == 0:
		msg = "There were no other sessions to end."
	case n == 1:
		msg = "Signed out 1 other session."
	case n > 1:
		msg = fmt.Sprintf("Signed out %d other sessions.", n)
	}
	_ = s.AddFlash("success", msg)
	redirect(w, r, "/sessions")
}

func (a *App) changePassword(w http.ResponseWriter, r *http.Request) {
	s, u := a.currentUser(w, r)
	if u == nil {
		return
	}
	ctx := r.Context()
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	g, ok, wait := a.reserveGuess(r, "password change", accountKey(u.Username), u.ID)
	if !ok {
		retryAfter(w, wait)
		_ = s.AddFlash("error", "Too many failed attempts. Please wait a few minutes and try again.")
		a.render(w, r, http.StatusTooManyRequests, "home", &page{Title: "Home", User: u})
		return
	}
	ok, _, err := a.verify(ctx, u.PasswordHash, current)
	if errors.Is(err, errBusy) {
		g.refund()
		a.busy(w, r, "home", &page{Title: "Home", User: u})
		return
	}
	if err != nil || !ok {
		a.log.LogAttrs(ctx, slog.LevelInfo, "password change: wrong current password", slog.String("user_id", u.ID), slog.String("ip", a.clientIP(r)), userAgent(r))
		_ = s.AddFlash("error", "Your current password was not correct.")
		redirect(w, r, "/")
		return
	}
	g.succeeded()
	if msg := PasswordProblem(u.Username, next); msg != "" {
		_ = s.AddFlash("error", msg)
		redirect(w, r, "/")
		return
	}
	hash, err := a.hash(ctx, next)
	if errors.Is(err, errBusy) {
		a.busy(w, r, "home", &page{Title: "Home", User: u})
		return
	}
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	version, err := a.users.SetPasswordHash(ctx, u.ID, hash)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	// This session lives on with the new password; every other one ends,
	// here and (through the version) on every instance.
	if err := s.Put(credentialVersionKey, version); err != nil {
		a.serverError(w, r, err)
		return
	}
	s.SetReason(sessionkit.ReasonPasswordChange)
	if _, err := a.endOtherSessions(ctx, s); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "password changed", slog.String("user_id", u.ID), slog.String("ip", a.clientIP(r)), userAgent(r))
	_ = s.AddFlash("success", "Your password has been changed, and every other session has been signed out.")
	redirect(w, r, "/")
}

// accountKey is the rate-limit key of a typed username: the lookup key,
// cut so that junk names cannot grow the limiter's memory.
func accountKey(username string) string {
	k := usernameKey(username)
	if len(k) > 64 {
		k = k[:64]
	}
	return k
}

// hash hashes password with argon2id, waiting for a hashing slot.
func (a *App) hash(ctx context.Context, password string) (string, error) {
	if err := a.acquire(ctx); err != nil {
		return "", err
	}
	defer a.release()
	return HashPassword(password)
}

// verify checks password against hash, waiting for a hashing slot.
func (a *App) verify(ctx context.Context, hash, password string) (ok, rehash bool, err error) {
	if err := a.acquire(ctx); err != nil {
		return false, false, err
	}
	defer a.release()
	return VerifyPassword(hash, password)
}

// acquire waits up to Options.HashWait for a hashing slot, and returns
// errBusy when none came free (or the client went away).
func (a *App) acquire(ctx context.Context) error {
	t := time.NewTimer(a.opts.HashWait)
	defer t.Stop()
	select {
	case a.hashSem <- struct{}{}:
		return nil
	case <-t.C:
		return errBusy
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errBusy, ctx.Err())
	}
}

// guess is one password check's hold on the login limits.
type guess struct {
	a                     *App
	client, pair, account string
	held                  reservations
}

// reserveGuess counts a password guess on account from the request's
// client against every login limit, before the password is checked, so
// that parallel guesses cannot get past a limit. When a limit refuses,
// nothing is counted, wait says when to try again, and the refusal is
// logged as "<action> rate limited" with the account's name (see
// guess.name), its user ID if known, and the client.
func (a *App) reserveGuess(r *http.Request, action, account, userID string) (g *guess, ok bool, wait time.Duration) {
	client := a.clientKey(r)
	g = &guess{a: a, client: client, pair: account + " " + client, account: account}
	g.held, ok, wait = reserveAll(
		reservation{a.ipFail, g.client},
		reservation{a.pairFail, g.pair},
		reservation{a.acctSlow, g.account},
	)
	if !ok {
		attrs := []slog.Attr{g.name(), slog.String("ip", a.clientIP(r)), userAgent(r), slog.Duration("retry_after", wait)}
		if userID != "" {
			attrs = append(attrs, slog.String("user_id", userID))
		}
		a.log.LogAttrs(r.Context(), slog.LevelWarn, action+" rate limited", attrs...)
	}
	return g, ok, wait
}

// name is the log attribute naming the guess's account: the keyed log
// identifier of the typed name's lookup key (sessionkit.Manager.LogID),
// which links the attempts on one name, never the typed text.
func (g *guess) name() slog.Attr { return slog.Any("name", g.a.sm.LogID(g.account)) }

// refund gives the guess back: it was never checked.
func (g *guess) refund() { g.held.release() }

// succeeded records a right password: it costs the client and the
// account nothing, and clears the failures of this account from this
// client.
func (g *guess) succeeded() {
	g.a.ipFail.Release(g.client)
	g.a.acctSlow.Release(g.account)
	g.a.pairFail.Reset(g.pair)
}

func (a *App) release() { <-a.hashSem }
