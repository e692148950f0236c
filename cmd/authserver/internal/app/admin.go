package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/sessionkit/sessionkit"
)

// SetUserDisabled disables or enables the account named username. Either
// way its credential version moves on, so every session it had ends at its
// next request, on every instance and with every session store; disabling
// also deletes its sessions from a store that indexes them by user. A
// disabled account cannot sign in.
func (a *App) SetUserDisabled(ctx context.Context, username string, disabled bool) error {
	u, err := a.users.ByUsername(ctx, username)
	if err != nil {
		return err
	}
	if u == nil {
		return fmt.Errorf("no account named %q", username)
	}
	if err := a.users.SetDisabled(ctx, u.ID, disabled); err != nil {
		return err
	}
	if err := a.forgetUser(ctx, u.ID); err != nil {
		return err
	}
	n := 0
	if disabled {
		// Best effort: the version check ends them anyway.
		n, err = a.sm.RevokeUserSessions(ctx, u.ID)
		if err != nil && !errors.Is(err, sessionkit.ErrNotSupported) {
			return err
		}
	}
	msg := "account enabled"
	if disabled {
		msg = "account disabled"
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, msg, slog.String("user_id", u.ID), slog.Int("sessions_deleted", n))
	return nil
}
