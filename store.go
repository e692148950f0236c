package sessionkit

import (
	"context"
	"maps"
	"slices"
	"time"
)

// Record is what a store keeps for one session.
type Record struct {
	// ID is the store key, Tokens.StoreKey of the token: by default its
	// SHA-256 (HashToken), so a dump of a store yields no usable cookie.
	ID string
	// UserID links the session to a user for the per-user index. Empty for
	// anonymous sessions.
	UserID string
	// Values holds the session's values, each encoded by the manager's Codec.
	// Stores treat them as opaque bytes.
	Values map[string][]byte
	// CreatedAt is when the session was created (or renewed).
	CreatedAt time.Time
	// LastSeen is the last activity the manager recorded.
	LastSeen time.Time
	// ExpiresAt is when the session ends unless it is touched again: the
	// earlier of its idle deadline and AbsoluteExpiry. A store keeps it as
	// written (see Store on expiry).
	ExpiresAt time.Time
	// AbsoluteExpiry is the hard deadline that activity cannot extend.
	AbsoluteExpiry time.Time
	// Persistent is true for remember-me sessions, whose cookie carries a
	// Max-Age.
	Persistent bool
	// Meta holds small descriptive strings recorded at creation, such as the
	// client IP and user agent, for "your devices" pages. Never secrets.
	Meta map[string]string
}

// Clone returns a deep copy of r.
func (r *Record) Clone() *Record {
	if r == nil {
		return nil
	}
	c := *r
	c.Values = make(map[string][]byte, len(r.Values))
	for k, v := range r.Values {
		c.Values[k] = append([]byte(nil), v...)
	}
	c.Meta = maps.Clone(r.Meta)
	return &c
}

// Delta is a change to one record: only the keys that the request changed,
// so that overlapping requests that change different keys both survive.
type Delta struct {
	// Clear removes every value before Set is applied.
	Clear bool
	// Set holds the keys to write, with their encoded values.
	Set map[string][]byte
	// Del lists the keys to remove.
	Del []string
	// UserID, when not nil, replaces the record's user ID ("" unlinks it).
	UserID *string
	// Persistent, when not nil, replaces the record's remember-me flag.
	Persistent *bool
	// LastSeen and ExpiresAt are always written; AbsoluteExpiry too when
	// it is not zero.
	LastSeen       time.Time
	ExpiresAt      time.Time
	AbsoluteExpiry time.Time
}

// applied returns a copy of values with d's value changes, or values itself
// when there are none (or d is nil).
func (d *Delta) applied(values map[string][]byte) map[string][]byte {
	if d == nil || !d.Clear && len(d.Set) == 0 && len(d.Del) == 0 {
		return values
	}
	out := make(map[string][]byte)
	if !d.Clear {
		for k, v := range values {
			if !slices.Contains(d.Del, k) {
				out[k] = v
			}
		}
	}
	maps.Copy(out, d.Set)
	return out
}

// Apply applies d to r in place, for stores that hold records in memory.
func (d *Delta) Apply(r *Record) {
	if d.Clear {
		clear(r.Values)
	}
	if r.Values == nil {
		r.Values = make(map[string][]byte, len(d.Set))
	}
	for k, v := range d.Set {
		r.Values[k] = append([]byte(nil), v...)
	}
	for _, k := range d.Del {
		delete(r.Values, k)
	}
	if d.UserID != nil {
		r.UserID = *d.UserID
	}
	if d.Persistent != nil {
		r.Persistent = *d.Persistent
	}
	r.LastSeen = d.LastSeen
	r.ExpiresAt = d.ExpiresAt
	if !d.AbsoluteExpiry.IsZero() {
		r.AbsoluteExpiry = d.AbsoluteExpiry
	}
}

// Store keeps session records on the server. Every method takes a context
// first and must honour its deadline and cancellation.
//
// The contract, checked by package sessiontest:
//
//   - Load returns (nil, nil) when no record has the ID. The caller does not
//     modify the returned record, so a store may share it.
//   - Expiry is decided by the manager alone, with its own clock. Load,
//     ListByUser and Iterate may return records whose ExpiresAt has passed;
//     a store may also hide them (a TTL, time.Now in a query) and delete
//     them at any time, as garbage collection. A record hidden from Load is
//     absent for Update and Touch too.
//   - Create inserts a new record, keeping no reference to rec's maps, and
//     returns ErrExists if the ID is taken by a live record; it may replace
//     one whose ExpiresAt has passed, of which nothing survives.
//   - Update applies a Delta atomically and returns ErrNotFound if there is
//     no record with the ID: it never creates one, so a late save cannot
//     bring back a deleted session. Keys the delta does not name stay.
//   - Touch changes only LastSeen and ExpiresAt (the values are not
//     rewritten) and returns ErrNotFound when the record is gone.
//   - Delete is idempotent: deleting a missing ID returns nil.
//   - Errors that mean the backend is unreachable should wrap ErrUnavailable.
//   - Cancellation is not an outage: a call whose context is done (before
//     or while it runs, unless it completes first) returns an error that
//     wraps the context's error and not ErrUnavailable; if done before, it
//     changes nothing.
//   - A store must be safe for concurrent use.
type Store interface {
	Load(ctx context.Context, id string) (*Record, error)
	Create(ctx context.Context, rec *Record) error
	Update(ctx context.Context, id string, d Delta) error
	Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error
	Delete(ctx context.Context, id string) error
}

// Remover is an optional Store capability that makes lifecycle events
// exact when several instances share a store. Remove deletes the record id,
// as Delete does, and reports whether this call deleted it: false when
// there was no record, because another instance (or a garbage collection)
// removed it first. The manager ends sessions through Remove when the
// store has it (an expired session found by a load or by Manager.Sweep, a
// logout, a revocation) and reports an event only for the records it
// removed, so each end of a session is reported once.
type Remover interface {
	Remove(ctx context.Context, id string) (removed bool, err error)
}

// DefaultKeepExpired is how long the stores of this module keep a record
// after its ExpiresAt before their garbage collection (a Redis TTL, a
// cleanup pass) deletes it, unless their options say otherwise. In that
// time Manager.Sweep finds the record, removes it and reports its expiry;
// run Sweep more often than this.
const DefaultKeepExpired = 5 * time.Minute

// SessionInfo describes one session in a listing. ID is the store key,
// never the token.
type SessionInfo struct {
	ID         string
	UserID     string
	CreatedAt  time.Time
	LastSeen   time.Time
	ExpiresAt  time.Time
	Persistent bool
	Meta       map[string]string
}

// Info returns the listing entry for r.
func (r *Record) Info() SessionInfo {
	return SessionInfo{
		ID: r.ID, UserID: r.UserID, CreatedAt: r.CreatedAt, LastSeen: r.LastSeen,
		ExpiresAt: r.ExpiresAt, Persistent: r.Persistent, Meta: maps.Clone(r.Meta),
	}
}

// UserIndex is an optional Store capability: finding and ending all the
// sessions of one user. ListByUser returns them oldest first, expired ones
// possibly included. DeleteByUser deletes all but the IDs in except and
// returns how many it deleted (expired ones may be left out of the count);
// tools use it, while the manager's revocations list the sessions and end
// each one (through Remover, when the store has it), so that each gets its
// event. The empty user ID has no sessions.
type UserIndex interface {
	ListByUser(ctx context.Context, userID string) ([]SessionInfo, error)
	DeleteByUser(ctx context.Context, userID string, except ...string) (int, error)
}

// SessionLimiter is an optional Store capability behind
// Config.MaxSessionsPerUser: linking a stored session to a user while
// holding the user to a number of live sessions, in one atomic step across
// every instance that shares the store, so that concurrent logins cannot
// exceed the limit.
//
// LinkUser sets the UserID of the record id to userID. It first counts the
// user's other live sessions (ExpiresAt after now, by the manager's clock).
// When there are max or more, with evict false it changes nothing and
// returns ErrTooManySessions; with evict true it deletes the oldest of them
// (by CreatedAt, then ID) until max-1 remain, links id, and returns the IDs
// it deleted. It returns ErrNotFound when no live record has the ID. max is
// at least 1.
type SessionLimiter interface {
	LinkUser(ctx context.Context, id, userID string, max int, evict bool, now time.Time) (evicted []string, err error)
}

// Iterator is an optional Store capability: paging through every session,
// expired ones possibly included. An empty cursor starts, an empty next
// cursor ends, a malformed one is an error. A page may hold fewer than
// limit entries even when more follow; sessions created or deleted
// meanwhile may or may not be seen.
type Iterator interface {
	Iterate(ctx context.Context, cursor string, limit int) (page []SessionInfo, next string, err error)
}

// ClientStore keeps the whole session in the cookie instead of on the server
// (see package cookiestore). The manager uses it when Config.ClientStore is
// set.
//
//   - Seal returns the cookie value for rec; it fails when the value would not
//     fit in a cookie.
//   - Open returns the record sealed in value, or (nil, nil) when the value is
//     forged, tampered with, expired or revoked.
//   - Revoke ends the session rec across every copy of its cookie, for logout.
type ClientStore interface {
	Seal(ctx context.Context, rec *Record) (string, error)
	Open(ctx context.Context, value string) (*Record, error)
	Revoke(ctx context.Context, rec *Record) error
}

// Resealer is an optional ClientStore capability: OpenReseal is Open that
// also reports whether value was sealed with a retired key, so that the
// manager seals it again with the current key on this response.
type Resealer interface {
	OpenReseal(ctx context.Context, value string) (rec *Record, reseal bool, err error)
}

// UserRevoker is an optional ClientStore capability, behind
// RevokeUserSessions and Session.RevokeOtherSessions with a client store:
// RevokeUser makes every cookie of userID whose session was created before
// before stop opening.
type UserRevoker interface {
	RevokeUser(ctx context.Context, userID string, before time.Time) error
}

// CookieNamer is an optional ClientStore capability: a store that binds its
// values to one cookie name reports it, and New refuses a manager whose
// cookie has another name.
type CookieNamer interface {
	CookieName() string
}
