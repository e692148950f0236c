package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/storewrap"
)

// DefaultSweepInterval is how often Run sweeps the session store for
// sessions that expired unseen (-sweep-interval): more often than the
// stores keep expired records (sessionkit.DefaultKeepExpired).
const DefaultSweepInterval = time.Minute

// SweepSessions runs sessionkit's Manager.Sweep every interval until ctx
// is done, so that the expiry of a session that no request presents again
// is logged ("sessionkit: session expired") and counted
// (sessions_expired_total). A failed sweep is logged at Warn with the
// failure's class, never its message, which may quote a store key. With a
// store that cannot be iterated (cookie sessions, which expire in the
// browser) it returns at once.
func (a *App) SweepSessions(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n, err := a.sm.Sweep(ctx)
		switch {
		case errors.Is(err, sessionkit.ErrNotSupported):
			a.log.Info("session store cannot be swept: expired sessions are reported when presented")
			return
		case err != nil && ctx.Err() == nil:
			a.log.LogAttrs(ctx, slog.LevelWarn, "session sweep failed",
				slog.String("outcome", storewrap.Classify(err).String()), slog.Int("expired", n))
		case n > 0:
			a.log.LogAttrs(ctx, slog.LevelDebug, "session sweep", slog.Int("expired", n))
		}
	}
}
