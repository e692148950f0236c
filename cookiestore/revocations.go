package cookiestore

import (
	"context"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit"
)

// Revocations is the server-side list that lets sealed sessions end before
// they expire: a deny list of session IDs, each kept until its session could
// no longer open anyway, and per user a "not valid before" time, kept until
// every session created before it has passed its longest lifetime. A Store
// calls Revoked once for every authentic, unexpired value it opens, and
// Revoke and RevokeUser from its methods of the same names, with the
// deadlines already computed.
//
// NewMemoryRevocations keeps the list in memory, for one process. To make a
// logout or "sign out everywhere" hold across app instances and restarts,
// plug in a shared list: redisstore.NewRevocations,
// pgstore.NewRevocations or sqlitestore.NewRevocations. Package
// cookiestore/revocationstest checks an implementation.
//
// Implementations must be safe for concurrent use and fail closed: when the
// list cannot be read, Revoked returns an error (never false), and the Store
// then refuses the cookie with that error. An error that means the backend
// cannot be reached wraps sessionkit.ErrUnavailable, so that the middleware
// answers 503; an ended context gives an error wrapping the context's error.
// Revoked must cost at most one round trip to the backend.
type Revocations interface {
	// Revoked reports whether rec has been revoked, by its ID or because
	// its user's sessions created before some time were revoked. An entry
	// made by Revoke with a user ID also matches a record of the same ID
	// without a user.
	Revoked(ctx context.Context, rec *sessionkit.Record) (bool, error)

	// Revoke revokes the session id, whose user is userID ("" for none),
	// until until, after which the entry may be purged. A later call for
	// the same session never shortens the entry.
	Revoke(ctx context.Context, id, userID string, until time.Time) error

	// RevokeUser revokes every session of userID whose CreatedAt is before
	// before, until until, after which the entry may be purged. A later
	// call with an earlier before or until does not undo an earlier one.
	RevokeUser(ctx context.Context, userID string, before, until time.Time) error

	// Purge deletes the entries whose deadline has passed and returns how
	// many it deleted. Lists whose backend expires entries itself (Redis)
	// return 0, nil.
	Purge(ctx context.Context) (int, error)
}

// revokeUntil returns when the revocation of rec may be forgotten: its
// AbsoluteExpiry (the manager always sets it), or without one its ExpiresAt
// plus the idle period ExpiresAt - LastSeen when LastSeen is set, so that a
// request in flight during the logout cannot seal a longer-lived copy.
func revokeUntil(rec *sessionkit.Record) time.Time {
	until := rec.ExpiresAt
	if rec.AbsoluteExpiry.IsZero() {
		if idle := rec.ExpiresAt.Sub(rec.LastSeen); idle > 0 && !rec.LastSeen.IsZero() {
			until = until.Add(idle)
		}
	} else if rec.AbsoluteExpiry.After(until) {
		until = rec.AbsoluteExpiry
	}
	return until
}

// purgeEvery is how often MemoryRevocations drops entries it no longer
// needs during writes, at most.
const purgeEvery = time.Minute

// MemoryRevocations is a Revocations kept in memory, for a single server
// process: revocations are lost on restart and not shared between servers,
// so with several app instances a logout only holds on the instance that
// served it. Use a shared list there.
//
// Entries whose deadline has passed are purged during later writes, at most
// once a minute, and by Purge; there is no goroutine and nothing to close.
type MemoryRevocations struct {
	now func() time.Time

	mu        sync.Mutex
	ids       map[string]time.Time  // session ID → when the entry can go
	users     map[string]userCutoff // user ID → cutoff
	nextPurge time.Time
}

// userCutoff is a user's "not valid before" time and when it can go.
type userCutoff struct {
	before, until time.Time
}

var _ Revocations = (*MemoryRevocations)(nil)

// NewMemoryRevocations returns an empty MemoryRevocations that reads the
// time from now, which must be the clock of the Store and the manager (nil
// means time.Now). The clock only decides when entries are purged.
func NewMemoryRevocations(now func() time.Time) *MemoryRevocations {
	if now == nil {
		now = time.Now
	}
	return &MemoryRevocations{
		now:   now,
		ids:   make(map[string]time.Time),
		users: make(map[string]userCutoff),
	}
}

// Revoked reports whether rec's ID is on the deny list or rec was created
// before its user's "not valid before" time. It returns an error only when
// ctx has ended.
func (m *MemoryRevocations) Revoked(ctx context.Context, rec *sessionkit.Record) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ids[rec.ID]; ok {
		return true, nil
	}
	if rec.UserID != "" {
		if c, ok := m.users[rec.UserID]; ok && rec.CreatedAt.Before(c.before) {
			return true, nil
		}
	}
	return false, nil
}

// Revoke puts id on the deny list until until. It returns an error only
// when ctx has ended.
func (m *MemoryRevocations) Revoke(ctx context.Context, id, userID string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purgeSometimes()
	if old, ok := m.ids[id]; !ok || until.After(old) {
		m.ids[id] = until
	}
	return nil
}

// RevokeUser makes every session of userID created before before invalid,
// until until. It returns an error only when ctx has ended.
func (m *MemoryRevocations) RevokeUser(ctx context.Context, userID string, before, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purgeSometimes()
	c := m.users[userID]
	if before.After(c.before) {
		c.before = before
	}
	if until.After(c.until) {
		c.until = until
	}
	m.users[userID] = c
	return nil
}

// Purge drops the entries whose deadline has passed. It returns an error
// only when ctx has ended.
func (m *MemoryRevocations) Purge(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.purge(), nil
}

// purgeSometimes purges at most once every purgeEvery, so that writes stay
// cheap. m.mu must be held.
func (m *MemoryRevocations) purgeSometimes() {
	if m.now().Before(m.nextPurge) {
		return
	}
	m.purge()
}

// purge drops the entries that have expired and returns how many. m.mu must
// be held.
func (m *MemoryRevocations) purge() int {
	now := m.now()
	m.nextPurge = now.Add(purgeEvery)
	n := 0
	for id, until := range m.ids {
		if !now.Before(until) {
			delete(m.ids, id)
			n++
		}
	}
	for user, c := range m.users {
		if !now.Before(c.until) {
			delete(m.users, user)
			n++
		}
	}
	return n
}
