package sessionkit

import (
	"context"
	"errors"
	"slices"
)

// UserSessions lists the live sessions of a user, oldest first, for a "your
// devices" page. The entries carry store keys, never tokens. The store must
// implement UserIndex.
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	idx, ok := m.cfg.Store.(UserIndex)
	if !ok {
		return nil, ErrNotSupported
	}
	if userID == "" {
		return nil, errors.New("sessionkit: empty user ID")
	}
	list, err := idx.ListByUser(ctx, userID)
	now := m.cfg.Now()
	return slices.DeleteFunc(list, func(info SessionInfo) bool { return !m.exp.alive(info, now) }), err
}

// RevokeSession ends the session with store key id if it belongs to userID,
// so that one user cannot end another's session by guessing keys. Ending a
// session that is already gone is not an error.
func (m *Manager) RevokeSession(ctx context.Context, userID, id string) error {
	list, err := m.UserSessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, info := range list {
		if info.ID == id {
			if err := m.cfg.Store.Delete(ctx, id); err != nil {
				return err
			}
			m.ev.lifecycle(ctx, Event{Kind: EventDestroyed, ID: id, UserID: userID, Reason: ReasonRevoked}, info.Meta)
			return nil
		}
	}
	return nil
}

// RevokeUserSessions ends every session of userID except the store keys in
// except (for example after a password reset, or from an admin console). It
// returns how many sessions it ended; with a client store, which cannot
// count them, it returns -1. The store must implement UserIndex, or the
// client store UserRevoker (which cannot spare sessions: except must be
// empty). It emits one EventDestroyed per session it ends, with its store
// key (a client store: one without ID); a session created while it runs
// is ended but may not be reported.
func (m *Manager) RevokeUserSessions(ctx context.Context, userID string, except ...string) (int, error) {
	if userID == "" {
		return 0, errors.New("sessionkit: empty user ID")
	}
	n, ended, err := m.store.revokeUser(ctx, userID, except, m.cfg.Now())
	if err == nil {
		m.ev.revoked(ctx, userID, n, ended)
	}
	return n, err
}

// iteratePage is how many entries Iterate asks the store for at a time.
const iteratePage = 100

// Iterate calls fn with every live session in the store, for operator
// tools that list or purge sessions, until fn returns false. Entries whose
// deadline has passed by the manager's clock are skipped even if the store
// still holds them. Sessions created or deleted during the iteration may or
// may not be seen. The store must implement Iterator.
func (m *Manager) Iterate(ctx context.Context, fn func(SessionInfo) bool) error {
	it, ok := m.cfg.Store.(Iterator)
	if !ok {
		return ErrNotSupported
	}
	cursor := ""
	for {
		page, next, err := it.Iterate(ctx, cursor, iteratePage)
		if err != nil {
			return err
		}
		now := m.cfg.Now()
		for _, info := range page {
			if m.exp.alive(info, now) && !fn(info) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}
