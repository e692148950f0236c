package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit"
)

// genericLoginError is the one message for every failed login, whether the
// user exists or not.
const genericLoginError = "Invalid username or password."

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
	if u == nil {
		// The account is gone: end its session.
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
	ip := a.clientIP(r)
	if blocked, wait := a.regIP.Blocked(ip); blocked {
		a.metrics.registrations.WithLabelValues("rate_limited").Inc()
		retryAfter(w, wait)
		p.Error = "Too many registration attempts from your network. Please try again later."
		a.render(w, r, http.StatusTooManyRequests, "register", p)
		return
	}
	a.regIP.Fail(ip) // every attempt counts: this also slows down probing for names
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
	a.log.LogAttrs(ctx, slog.LevelInfo, "user registered", slog.String("user_id", u.ID), slog.String("ip", ip))
	if err := a.startSession(r, u, false, "Welcome, "+u.Username+"! Your account is ready."); err != nil {
		a.serverError(w, r, err)
		return
	}
	redirect(w, r, "/")
}

// startSession logs u in on the request's session: a new token (no
// fixation), no data from before the login, the user link and remember-me.
func (a *App) startSession(r *http.Request, u *User, remember bool, flash string) error {
	s := a.sm.Session(r.Context())
	if err := s.Renew(false); err != nil {
		return err
	}
	if err := s.SetUserID(u.ID); err != nil {
		return err
	}
	if err := s.RememberMe(remember); err != nil {
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
	ip, account := a.clientIP(r), accountKey(username)

	blockedIP, waitIP := a.ipFail.Blocked(ip)
	blockedAcct, waitAcct := a.acctFail.Blocked(account)
	if blockedIP || blockedAcct {
		a.metrics.logins.WithLabelValues("rate_limited").Inc()
		a.log.LogAttrs(ctx, slog.LevelWarn, "login rate limited", slog.String("ip", ip),
			slog.Bool("per_ip", blockedIP), slog.Bool("per_account", blockedAcct))
		retryAfter(w, max(waitIP, waitAcct))
		p.Error = "Too many failed sign-in attempts. Please wait a few minutes and try again."
		a.render(w, r, http.StatusTooManyRequests, "login", p)
		return
	}

	u, err := a.users.ByUsername(ctx, username)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	hash := a.dummy // unknown users cost the same hash as known ones
	if u != nil {
		hash = u.PasswordHash
	}
	ok, rehash, err := a.verify(ctx, hash, password)
	if err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "password check failed", slog.String("error", err.Error()))
		ok = false
	}
	if u == nil || !ok {
		a.ipFail.Fail(ip)
		a.acctFail.Fail(account)
		a.metrics.logins.WithLabelValues("failed").Inc()
		a.log.LogAttrs(ctx, slog.LevelInfo, "login failed", slog.String("ip", ip), slog.Bool("known_user", u != nil))
		p.Error = genericLoginError
		a.render(w, r, http.StatusUnauthorized, "login", p)
		return
	}

	a.acctFail.Reset(account)
	if rehash {
		if h, err := a.hash(ctx, password); err == nil {
			if err := a.users.SetPasswordHash(ctx, u.ID, h); err != nil {
				a.log.LogAttrs(ctx, slog.LevelError, "password hash upgrade failed", slog.String("user_id", u.ID), slog.String("error", err.Error()))
			} else {
				a.log.LogAttrs(ctx, slog.LevelInfo, "password hash upgraded to argon2id", slog.String("user_id", u.ID))
			}
		}
	}
	if err := a.startSession(r, u, remember, "Welcome back, "+u.Username+"!"); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.metrics.logins.WithLabelValues("succeeded").Inc()
	a.log.LogAttrs(ctx, slog.LevelInfo, "login succeeded", slog.String("user_id", u.ID), slog.String("ip", ip), slog.Bool("remember", remember))
	redirect(w, r, "/")
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	s := a.sm.Session(r.Context())
	uid := s.UserID()
	if err := s.Destroy(); err != nil {
		a.serverError(w, r, err)
		return
	}
	if uid != "" {
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "logout", slog.String("user_id", uid))
		// A fresh, anonymous session carries the message.
		if err := s.AddFlash("info", "You have been signed out."); err != nil {
			a.serverError(w, r, err)
			return
		}
	}
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
	switch {
	case errors.Is(err, sessionkit.ErrNotSupported):
		_ = s.AddFlash("error", "This session store cannot end single devices; use “Sign out everywhere else”.")
	case err != nil:
		a.serverError(w, r, err)
		return
	default:
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "session revoked", slog.String("user_id", u.ID))
		_ = s.AddFlash("success", "That device has been signed out.")
	}
	redirect(w, r, "/sessions")
}

// endOtherSessions ends every session of the user but the current one,
// which gets a new token. The order matters for the cookie store, which
// revokes by creation time: revoke first, then renew.
func (a *App) endOtherSessions(s *sessionkit.Session) (int, error) {
	n, err := s.RevokeOtherSessions()
	if err != nil {
		return 0, err
	}
	return n, s.Renew(true)
}

func (a *App) revokeOthers(w http.ResponseWriter, r *http.Request) {
	s, u := a.currentUser(w, r)
	if u == nil {
		return
	}
	n, err := a.endOtherSessions(s)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "other sessions revoked", slog.String("user_id", u.ID), slog.Int("count", n))
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
	account := accountKey(u.Username)
	if blocked, wait := a.acctFail.Blocked(account); blocked {
		retryAfter(w, wait)
		_ = s.AddFlash("error", "Too many failed attempts. Please wait a few minutes and try again.")
		a.render(w, r, http.StatusTooManyRequests, "home", &page{Title: "Home", User: u})
		return
	}
	ok, _, err := a.verify(ctx, u.PasswordHash, current)
	if err != nil || !ok {
		a.acctFail.Fail(account)
		a.log.LogAttrs(ctx, slog.LevelInfo, "password change: wrong current password", slog.String("user_id", u.ID))
		_ = s.AddFlash("error", "Your current password was not correct.")
		redirect(w, r, "/")
		return
	}
	if msg := PasswordProblem(u.Username, next); msg != "" {
		_ = s.AddFlash("error", msg)
		redirect(w, r, "/")
		return
	}
	hash, err := a.hash(ctx, next)
	if err != nil {
		a.serverError(w, r, err)
		return
	}
	if err := a.users.SetPasswordHash(ctx, u.ID, hash); err != nil {
		a.serverError(w, r, err)
		return
	}
	if _, err := a.endOtherSessions(s); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "password changed", slog.String("user_id", u.ID))
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

func (a *App) acquire(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case a.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *App) release() { <-a.hashSem }
