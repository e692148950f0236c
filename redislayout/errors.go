package redislayout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit"
)

// WrapError adds the store's name and op to err, an error of a Redis
// client, and classifies it; it is the one place where the stores decide
// what an error means. When the caller's context has ended, the error
// wraps the context's error (context.Canceled or
// context.DeadlineExceeded), whatever form the client gave it, and never
// sessionkit.ErrUnavailable: cancellation is not an outage. Otherwise it
// is marked with sessionkit.ErrUnavailable when unavailable(err) reports
// that Redis could not be reached or cannot serve requests right now.
func WrapError(ctx context.Context, store, op string, err error, unavailable func(error) bool) error {
	if cerr := ctxErr(ctx); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("%s: %s: %w", store, op, err)
		}
		return fmt.Errorf("%s: %s: %w (%v)", store, op, cerr, err)
	}
	if unavailable(err) {
		return fmt.Errorf("%s: %s: %w: %w", store, op, sessionkit.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %s: %w", store, op, err)
}

// ctxErr returns ctx.Err(), or context.DeadlineExceeded when ctx's
// deadline has passed by the clock but its timer has not fired yet: a
// client that sets the deadline on the socket (rueidis) reports it a
// moment before the context does.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// UnavailableReply reports whether a Redis error reply means that the
// server cannot serve requests right now rather than that the request was
// wrong: a server that is loading, has lost its master or its cluster, is
// a read-only replica after a failover (also when a script's write
// was refused), has too many clients or too few
// replicas.
func UnavailableReply(reply string) bool {
	for _, p := range []string{"LOADING ", "READONLY ", "CLUSTERDOWN ", "TRYAGAIN ", "MASTERDOWN ", "NOREPLICAS ", "ERR max number of clients reached"} {
		if strings.HasPrefix(reply, p) {
			return true
		}
	}
	// A script that wrote on a replica: "ERR Error running script (call
	// to f_<sha>): @user_script:N: -READONLY You can't write ...".
	return strings.Contains(reply, "-READONLY You can't write against a read only replica")
}
