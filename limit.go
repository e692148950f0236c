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
func (cfg *Config) checkLimit() error {
	switch {
	case cfg.MaxSessionsPerUser < 0:
		return errors.New("sessionkit: Config.MaxSessionsPerUser is negative")
	case cfg.LimitPolicy != EvictOldest && cfg.LimitPolicy != RejectNew:
		return fmt.Errorf("sessionkit: unknown Config.LimitPolicy %d", int(cfg.LimitPolicy))
	case cfg.MaxSessionsPerUser == 0:
		return nil
	case cfg.ClientStore != nil:
		return errors.New("sessionkit: Config.MaxSessionsPerUser needs a server-side Store; a ClientStore cannot count a user's sessions")
	}
	if _, ok := cfg.Store.(SessionLimiter); !ok {
		return fmt.Errorf("sessionkit: Config.MaxSessionsPerUser needs a Store that implements SessionLimiter; %T does not", cfg.Store)
	}
	return nil
}

// limited reports whether linking the session to userID goes through the
// session limit. Unlinking ("") never does.
func (s *Session) limited(userID string) bool {
	return s.m.cfg.MaxSessionsPerUser > 0 && userID != ""
}

// linkLimited links the session to userID under Config.MaxSessionsPerUser,
// at once in the store (SessionLimiter.LinkUser), so that a refusal reaches
// the handler as ErrTooManySessions. A session not stored yet is stored
// first, with its pending changes; its cookie goes out with the response.
// The caller holds s.mu and has checked that the session is writable.
func (s *Session) linkLimited(userID string) error {
	m := s.m
	ctx := s.r.Context()
	now := m.cfg.Now()
	if s.stored.ID == "" {
		if _, err := s.create(ctx, now); err != nil {
			return err
		}
		s.delta, s.status, s.resend = nil, StatusUnmodified, true
	}
	if s.stored.UserID != userID { // a session linked already is counted
		l := m.cfg.Store.(SessionLimiter) // checked by New
		evicted, err := l.LinkUser(ctx, s.stored.ID, userID, m.cfg.MaxSessionsPerUser, m.cfg.LimitPolicy == EvictOldest, now)
		if err != nil {
			return err
		}
		s.stored.UserID = userID
		for _, id := range evicted {
			m.ev.lifecycle(ctx, Event{Kind: EventDestroyed, ID: id, UserID: userID, Reason: ReasonSessionLimit}, nil)
		}
	}
	s.edit().UserID = userID
	if s.delta != nil {
		s.delta.UserID = nil // the store has it
	}
	return nil
}
