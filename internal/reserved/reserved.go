// Package reserved lets the packages of the core module that keep their own
// state in a session (package sudo) write it under sessionkit's reserved
// keys, which Session.Put refuses to anyone else. Package sessionkit sets
// its functions when it is initialized.
package reserved

import "time"

var (
	// Put stores under the reserved key the value that v returns, given
	// the session's user ID and the manager's clock, as one change of s (a
	// *sessionkit.Session).
	Put func(s any, key string, v func(userID string, now time.Time) (any, error)) error
	// Clock returns the clock (Config.Now) of s's manager.
	Clock func(s any) time.Time
)
