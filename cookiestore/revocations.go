package cookiestore

import (
	"context"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit"
)

// Revocations is the server-side memory that lets sealed sessions end before
// they expire. A Store calls Revoked for every authentic, unexpired value it
// opens, and Revoke and RevokeUser from its methods of the same names.
// Implementations must be safe for concurrent use; errors should wrap
// sessionkit.ErrUnavailable when the backend cannot be reached.
type Revocations interface {
	// Revoked reports whether rec has been revoked, by ID or because its
	// user's sessions created before some time were revoked.
	Revoked(ctx context.Context, rec *sessionkit.Record) (bool, error)
	// Revoke revokes the session rec.ID. The entry may be forgotten once
	// no value holding the session can be open any more.
	Revoke(ctx context.Context, rec *sessionkit.Record) error
	// RevokeUser revokes every session of userID whose CreatedAt is
	// before before.
	RevokeUser(ctx context.Context, userID string, before time.Time) error
}

// purgeEvery is how often MemoryRevocations drops entries it no longer
// needs, at most.
const purgeEvery = time.Minute

// MemoryRevocations is a Revocations kept in memory, for a single server
// process: revocations are lost on restart and not shared between servers.
//
// It holds a deny list of session IDs, each kept until the session could no
// longer open anyway (its AbsoluteExpiry, or when there is none, one idle
// period after its ExpiresAt, so that a request in flight during the logout
// cannot seal a longer-lived copy), and one "not valid before" time per user.
// Expired IDs are purged during later writes; there is no goroutine and
// nothing to close. The per-user times are kept for the life of the
// MemoryRevocations: one entry per user who was ever signed out everywhere.
type MemoryRevocations struct {
	now func() time.Time

	mu        sync.Mutex
	ids       map[string]time.Time // session ID → when the entry can go
	users     map[string]time.Time // user ID → sessions created before are revoked
	nextPurge time.Time
}

var _ Revocations = (*MemoryRevocations)(nil)

// NewMemoryRevocations returns an empty MemoryRevocations that reads the
// time from now, which must be the clock of the Store and the manager (nil
// means time.Now). The clock only decides when deny-list entries are purged.
func NewMemoryRevocations(now func() time.Time) *MemoryRevocations {
	if now == nil {
		now = time.Now
	}
	return &MemoryRevocations{
		now:   now,
		ids:   make(map[string]time.Time),
		users: make(map[string]time.Time),
	}
}

// Revoked reports whether rec's ID is on the deny list or rec was created
// before its user's "not valid before" time. It never returns an error.
func (m *MemoryRevocations) Revoked(ctx context.Context, rec *sessionkit.Record) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.ids[rec.ID]; ok {
		return true, nil
	}
	if rec.UserID != "" {
		if before, ok := m.users[rec.UserID]; ok && rec.CreatedAt.Before(before) {
			return true, nil
		}
	}
	return false, nil
}

// Revoke puts rec.ID on the deny list until rec could no longer open: its
// AbsoluteExpiry (the manager always passes it), or without one its
// ExpiresAt plus the idle period ExpiresAt - LastSeen when LastSeen is set.
// It never returns an error.
func (m *MemoryRevocations) Revoke(ctx context.Context, rec *sessionkit.Record) error {
	until := rec.ExpiresAt
	if rec.AbsoluteExpiry.IsZero() {
		if idle := rec.ExpiresAt.Sub(rec.LastSeen); idle > 0 && !rec.LastSeen.IsZero() {
			until = until.Add(idle)
		}
	} else if rec.AbsoluteExpiry.After(until) {
		until = rec.AbsoluteExpiry
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purge()
	if old, ok := m.ids[rec.ID]; !ok || until.After(old) {
		m.ids[rec.ID] = until
	}
	return nil
}

// RevokeUser makes every session of userID created before before invalid.
// A later call with an earlier time does not undo an earlier call. It never
// returns an error.
func (m *MemoryRevocations) RevokeUser(ctx context.Context, userID string, before time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.purge()
	if old, ok := m.users[userID]; !ok || before.After(old) {
		m.users[userID] = before
	}
	return nil
}

// purge drops the deny-list entries that have expired, at most once every
// purgeEvery. m.mu must be held.
func (m *MemoryRevocations) purge() {
	now := m.now()
	if now.Before(m.nextPurge) {
		return
	}
	m.nextPurge = now.Add(purgeEvery)
	for id, until := range m.ids {
		if !now.Before(until) {
			delete(m.ids, id)
		}
	}
}
