package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/remember"
)

// newRemember returns the remember-me token manager when Options.Remember
// holds a token store, else nil: then "keep me signed in" makes the session
// itself persistent.
func (a *App) newRemember() (*remember.Manager, error) {
	if a.opts.Remember == nil {
		return nil, nil
	}
	return remember.New(remember.Config{
		Sessions: a.sm,
		Store:    a.opts.Remember,
		Lifetime: a.opts.RememberMeLifetime,
		Insecure: a.opts.Dev,
		Now:      a.opts.Now,
		OnRestore: func(ctx context.Context, s *sessionkit.Session, userID string) error {
			u, err := a.users.ByID(ctx, userID)
			switch {
			case err != nil:
				return err
			case u == nil || u.Disabled:
				return errors.New("account deleted or disabled")
			}
			a.log.LogAttrs(ctx, slog.LevelInfo, "signed in with a remember-me token", slog.String("user_id", u.ID))
			return s.Put(credentialVersionKey, u.CredentialVersion)
		},
		OnTheft: func(ctx context.Context, t remember.Theft) {
			attrs := []slog.Attr{slog.String("user_id", t.UserID), slog.Int("tokens_deleted", t.Tokens), slog.Int("sessions_ended", t.Sessions)}
			if t.Err != nil {
				attrs = append(attrs, slog.String("error", t.Err.Error()))
			}
			a.log.LogAttrs(ctx, slog.LevelWarn, "remember-me token reused after rotation: every session of the user ended", attrs...)
		},
	})
}

// restoreRemembered signs in a request that has no signed-in session but a
// remember-me token (see remember.Manager.Middleware).
func (a *App) restoreRemembered(next http.Handler) http.Handler {
	if a.rm == nil {
		return next
	}
	return a.rm.Middleware(next)
}

// rememberDevice gives the browser a remember-me token at login, when the
// user asked for one and tokens are in use.
func (a *App) rememberDevice(w http.ResponseWriter, r *http.Request, userID string, on bool) error {
	if a.rm == nil || !on {
		return nil
	}
	return a.rm.Issue(w, r, userID)
}

// forgetDevice deletes the browser's remember-me token at logout.
func (a *App) forgetDevice(w http.ResponseWriter, r *http.Request) error {
	if a.rm == nil {
		return nil
	}
	return a.rm.Forget(w, r)
}

// forgetUser deletes every remember-me token of the user: after a password
// change, when devices are signed out, or when the account is disabled.
// (A token is not linked to the session it started, so signing out one
// device forgets them all, lest the token sign that device in again.)
func (a *App) forgetUser(ctx context.Context, userID string) error {
	if a.rm == nil {
		return nil
	}
	_, err := a.rm.ForgetUser(ctx, userID)
	return err
}
