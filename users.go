package sessionkit

import (
	"context"
	"errors"
)

// UserSessions lists the live sessions of a user, oldest first, for a "your
// devices" page. The entries carry store keys, never tokens. The store must
// implement UserIndex.
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	idx, ok := m.store.(UserIndex)
	if !ok {
		return nil, ErrNotSupported
	}
	if userID == "" {
		return nil, errors.New("sessionkit: empty user ID")
	}
	return idx.ListByUser(ctx, userID)
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
			if err := m.store.Delete(ctx, id); err != nil {
				return err
			}
			m.emit(ctx, Event{Kind: EventDestroyed, ID: id, UserID: userID, Reason: "revoked"})
			return nil
		}
	}
	return nil
}

// RevokeUserSessions ends every session of userID except the store keys in
// except (for example after a password reset, or from an admin console). It
// returns how many sessions it ended; with a client store, which cannot
// count them, it returns -1.
func (m *Manager) RevokeUserSessions(ctx context.Context, userID string, except ...string) (int, error) {
	if userID == "" {
		return 0, errors.New("sessionkit: empty user ID")
	}
	if m.client != nil {
		ur, ok := m.client.(userRevoker)
		if !ok || len(except) > 0 {
			return 0, ErrNotSupported
		}
		return -1, ur.RevokeUser(ctx, userID, m.now())
	}
	idx, ok := m.store.(UserIndex)
	if !ok {
		return 0, ErrNotSupported
	}
	n, err := idx.DeleteByUser(ctx, userID, except...)
	if err == nil && n > 0 {
		m.emit(ctx, Event{Kind: EventDestroyed, UserID: userID, Reason: "revoked"})
	}
	return n, err
}
