package app

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/sessionkit/sessionkit/sudo"
)

// SudoMaxAge is how recent the last password entry must be for a password
// change or for signing devices out ("sudo mode"); an older one, or a
// session that was never authenticated with a password, is sent to /reauth
// first.
const SudoMaxAge = 15 * time.Minute

// sudo guards a sensitive action: a session that is not fresh is sent to
// the re-authentication page, which returns to back, the page of the
// action's form.
func (a *App) sudo(back string, h http.HandlerFunc) http.Handler {
	stale := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := a.sm.Session(r.Context())
		if s.UserID() == "" {
			redirect(w, r, "/login")
			return
		}
		_ = s.AddFlash("info", "Please enter your password again to continue.")
		redirect(w, r, "/reauth?"+url.Values{"next": {back}}.Encode())
	})
	return sudo.RequireRecentAuth(a.sm, SudoMaxAge, stale)(h)
}

// reauthNext returns where the re-authentication page returns to: one of
// the pages with guarded forms, never a URL from elsewhere.
func reauthNext(r *http.Request) string {
	if r.FormValue("next") == "/sessions" {
		return "/sessions"
	}
	return "/"
}

func (a *App) reauthForm(w http.ResponseWriter, r *http.Request) {
	_, u := a.currentUser(w, r)
	if u == nil {
		return
	}
	a.render(w, r, http.StatusOK, "reauth", &page{Title: "Confirm your password", User: u, Next: reauthNext(r)})
}

// reauth checks the password of the signed-in user and marks the session
// as freshly authenticated, under the same guess limits as a login.
func (a *App) reauth(w http.ResponseWriter, r *http.Request) {
	s, u := a.currentUser(w, r)
	if u == nil {
		return
	}
	ctx := r.Context()
	p := &page{Title: "Confirm your password", User: u, Next: reauthNext(r)}
	g, ok, wait := a.reserveGuess(r, "re-authentication", accountKey(u.Username), u.ID)
	if !ok {
		retryAfter(w, wait)
		p.Error = "Too many failed attempts. Please wait a few minutes and try again."
		a.render(w, r, http.StatusTooManyRequests, "reauth", p)
		return
	}
	ok, _, err := a.verify(ctx, u.PasswordHash, r.PostFormValue("password"))
	if errors.Is(err, errBusy) {
		g.refund()
		a.busy(w, r, "reauth", p)
		return
	}
	if err != nil || !ok {
		a.log.LogAttrs(ctx, slog.LevelInfo, "re-authentication failed", slog.String("user_id", u.ID), slog.String("ip", a.clientIP(r)), userAgent(r))
		p.Error = "That password was not correct."
		a.render(w, r, http.StatusUnauthorized, "reauth", p)
		return
	}
	g.succeeded()
	// A raise in privilege: a new token, the data kept.
	if err := s.Renew(true); err != nil {
		a.serverError(w, r, err)
		return
	}
	if err := sudo.MarkAuthenticated(s, sudo.MethodPassword); err != nil {
		a.serverError(w, r, err)
		return
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "re-authenticated", slog.String("user_id", u.ID), slog.String("ip", a.clientIP(r)), userAgent(r))
	_ = s.AddFlash("success", "Password confirmed. You can continue.")
	redirect(w, r, p.Next)
}
