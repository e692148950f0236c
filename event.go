package sessionkit

import "errors"

// ErrNoSession is returned by every Session method when the request did not
// pass through the Manager's middleware.
var ErrNoSession = errors.New("sessionkit: no session in context (is the middleware installed?)")

// ErrCommitted is returned when a session is changed after the response
// headers were written: the change could no longer reach the client or the
// store, so it is refused rather than silently lost.
var ErrCommitted = errors.New("sessionkit: session changed after the response was committed")

// ErrNotSupported is returned when the store lacks an optional capability,
// such as the per-user index.
var ErrNotSupported = errors.New("sessionkit: not supported by this store")

// ErrReservedKey is returned when a value is written under a key that
// sessionkit reserves (keys beginning with "sessionkit.").
var ErrReservedKey = errors.New("sessionkit: key is reserved")

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
	switch k {
	case EventCreated:
		return "created"
	case EventRenewed:
		return "renewed"
	case EventDestroyed:
		return "destroyed"
	case EventExpired:
		return "expired"
	}
	return "unknown"
}

// Event reports a change in a session's life. It never carries the token.
type Event struct {
	Kind EventKind
	// ID is the session's store key (a hash of the token).
	ID string
	// UserID is the linked user, if any.
	UserID string
	// Reason says why a session was destroyed or expired, such as "destroy",
	// "idle timeout" or "absolute timeout".
	Reason string
}

// Status reports what a request did to its session.
type Status int

// The states of a Session.
const (
	StatusNew        Status = iota + 1 // not stored yet
	StatusUnmodified                   // loaded and unchanged
	StatusModified                     // changed; saved when the response starts
	StatusDestroyed                    // ended by Destroy
)

// String returns the status's name, such as "modified".
func (s Status) String() string {
	switch s {
	case StatusNew:
		return "new"
	case StatusUnmodified:
		return "unmodified"
	case StatusModified:
		return "modified"
	case StatusDestroyed:
		return "destroyed"
	}
	return "unknown"
}
