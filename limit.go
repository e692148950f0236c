package sessionkit

import (
	"errors"
	"fmt"
)

// LimitPolicy says what Config.MaxSessionsPerUser does when a session is
// linked to a user who already has that many live sessions.
type LimitPolicy int

// The policies of Config.LimitPolicy.
const (
	// EvictOldest, the default, ends the user's oldest sessions (by
	// creation or last renewal) to make room: a new login always succeeds
	// and signs out the least recent device. Each ended session is
	// reported as EventDestroyed with Reason ReasonSessionLimit.
	EvictOldest LimitPolicy = iota
	// RejectNew refuses the new link: Session.SetUserID returns
	// ErrTooManySessions and the session stays unlinked, so the handler
	// can tell the user to sign out elsewhere first.
	RejectNew
)

// String returns the policy's name: "evict oldest" or "reject new".
func (p LimitPolicy) String() string {
	switch p {
	case EvictOldest:
		return "evict oldest"
	case RejectNew:
		return "reject new"
	}
	return fmt.Sprintf("LimitPolicy(%d)", int(p))
}

// ReasonSessionLimit is the Reason of the EventDestroyed that reports a
// session ended by Config.MaxSessionsPerUser under EvictOldest.
const ReasonSessionLimit = "session limit"

// checkLimit refuses a session limit the manager cannot enforce: a
// negative one, an unknown policy, or a store that cannot link a session
// and count the user's others in one atomic step.
func checkLimit(limit int, policy LimitPolicy, store Store, client ClientStore) error {
	switch {
	case limit < 0:
		return errors.New("sessionkit: Config.MaxSessionsPerUser is negative")
	case policy != EvictOldest && policy != RejectNew:
		return fmt.Errorf("sessionkit: unknown Config.LimitPolicy %d", int(policy))
	case limit == 0:
		return nil
	case client != nil:
		return errors.New("sessionkit: Config.MaxSessionsPerUser needs a server-side Store; a ClientStore cannot count a user's sessions")
	}
	if _, ok := store.(SessionLimiter); !ok {
		return fmt.Errorf("sessionkit: Config.MaxSessionsPerUser needs a Store that implements SessionLimiter; %T does not", store)
	}
	return nil
}
