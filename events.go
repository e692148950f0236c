package sessionkit

import "context"

// EventKind says what happened to a session.
type EventKind int

// The kinds of Event.
const (
	EventCreated   EventKind = iota + 1 // a new session was stored
	EventRenewed                        // a session got a new token
	EventDestroyed                      // a session was ended by Destroy or a revocation
	EventExpired                        // a request carried a session that had expired
)

// String returns the kind's name, such as "created".
func (k EventKind) String() string {
	if k >= EventCreated && k <= EventExpired {
		return [...]string{"created", "renewed", "destroyed", "expired"}[k-EventCreated]
	}
	return "unknown"
}

// Event reports a change in a session's life. It never carries the token.
type Event struct {
	Kind EventKind
	// ID is the session's store key (see Tokens.StoreKey).
	ID string
	// UserID is the linked user, if any.
	UserID string
	// Reason says why a session was destroyed or expired, such as "destroy",
	// "idle timeout" or "absolute timeout".
	Reason string
}

// emit hands e to Config.OnEvent, if set.
func (m *Manager) emit(ctx context.Context, e Event) {
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(ctx, e)
	}
}
