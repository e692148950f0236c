// Package cleanup runs the periodic deletion of expired sessions that a
// store without server-side expiry needs (SQL databases, MongoDB servers
// without TTL indexes, process memory): one goroutine per store, which Stop
// ends.
//
// It is the one piece of code that sessionkit's store modules (memstore,
// pgstore, sqlitestore, mongostore) share, and third-party stores may use it
// too. Its API follows the module's compatibility promise: within a major
// version it only grows.
//
// A store's clean-up keeps an expired record for a while (KeepExpired)
// rather than deleting it at its ExpiresAt, so that Manager.Sweep can
// find it, remove it and report the session's expiry.
package cleanup

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit"
)

// KeepExpired returns how long a store's clean-up keeps a record after its
// ExpiresAt, for the store's KeepExpired option keep: zero means
// sessionkit.DefaultKeepExpired, a negative value means no time at all (the
// record may go at its ExpiresAt). A pass run at now deletes the records
// whose ExpiresAt is at or before now minus the result.
func KeepExpired(keep time.Duration) time.Duration {
	switch {
	case keep == 0:
		return sessionkit.DefaultKeepExpired
	case keep < 0:
		return 0
	}
	return keep
}

// Loop calls a deletion function at a fixed interval until Stop.
type Loop struct {
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Start calls deleteExpired every interval in a new goroutine, each pass
// with a context that times out after timeout. A pass's error goes to
// onError, which may be nil; the next pass retries. With interval <= 0 no
// goroutine starts and Stop returns at once.
func Start(interval, timeout time.Duration, deleteExpired func(context.Context) error, onError func(error)) *Loop {
	l := &Loop{stop: make(chan struct{}), done: make(chan struct{})}
	if interval <= 0 {
		close(l.done)
		return l
	}
	go func() {
		defer close(l.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
			// Stop waits for a pass rather than canceling it: a canceled
			// command may still run on a database server after Stop returned.
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			err := deleteExpired(ctx)
			cancel()
			if err != nil && onError != nil {
				onError(err)
			}
		}
	}()
	return l
}

// Stop ends the loop and waits for a pass in progress to finish. Calling it
// again does nothing.
func (l *Loop) Stop() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
}

// Config describes the clean-up loop of a store that deletes expired
// sessions with a DeleteExpired method and logs the loop's errors, with the
// options that such stores share.
type Config struct {
	// Interval is the store's configured interval (its
	// Options.CleanupInterval): zero means DefaultInterval, a negative
	// value starts no loop.
	Interval time.Duration
	// DefaultInterval is the store's default interval.
	DefaultInterval time.Duration

	// Timeout bounds one pass.
	Timeout time.Duration

	// Logger receives the error of a failed pass at level Error, as
	// Message with Attrs and an attribute "error". Nil means
	// slog.Default() at the time Start is called.
	Logger  *slog.Logger
	Message string
	Attrs   []slog.Attr
}

// Start starts the loop that c describes, calling deleteExpired, whose
// count it ignores.
func (c Config) Start(deleteExpired func(context.Context) (int, error)) *Loop {
	interval := c.Interval
	if interval == 0 {
		interval = c.DefaultInterval
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	return Start(interval, c.Timeout, func(ctx context.Context) error {
		_, err := deleteExpired(ctx)
		return err
	}, func(err error) {
		attrs := append(slices.Clip(c.Attrs), slog.String("error", err.Error()))
		log.LogAttrs(context.Background(), slog.LevelError, c.Message, attrs...)
	})
}
