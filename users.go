package sessionkit

import (
	"context"
	"errors"
	"slices"
	"time"
)

// UserSessions lists the live sessions of a user, oldest first, for a "your
// devices" page. The entries carry store keys, never tokens. The old record
// of a session renewed under Config.RenewGrace is left out: it is the same
// device as the renewed session, and ends with the grace. The store must
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
	return slices.DeleteFunc(list, func(info SessionInfo) bool {
		rec := m.exp.listed(info)
		return m.exp.ended(rec, now) != "" || m.exp.graced(rec)
	}), err
}

// RevokeSession ends the session with store key id if UserSessions lists
// it for userID, so that one user cannot end another's session by guessing
// keys. Ending a session that is already gone is not an error. It reports
// EventDestroyed (reason ReasonRevoked, or WithReason's) unless the session
// ended otherwise first (see Remover).
func (m *Manager) RevokeSession(ctx context.Context, userID, id string) error {
	list, err := m.UserSessions(ctx, userID)
	if err != nil {
		return err
	}
	for _, info := range list {
		if info.ID == id {
			_, err := m.end(ctx, m.exp.listed(info), ReasonRevoked, m.cfg.Now())
			return err
		}
	}
	return nil
}

// RevokeUserSessions ends every session of userID except the store keys in
// except (for example after a password reset, or from an admin console). It
// returns how many live sessions it ended; with a client store, which
// cannot count them, it returns -1. The store must implement UserIndex, or
// the client store UserRevoker (which cannot spare sessions: except must be
// empty).
//
// With a server store it lists the user's sessions and ends them one by
// one (through Remover when the store has it), reporting one
// EventDestroyed per live session it ended, with its store key, and
// EventExpired for one that had ended but was still stored. A session that
// another instance ended meanwhile is not reported again, and a session
// created while it runs is not ended. A client store ends every cookie of
// the user issued before the call, and reports one EventDestroyed without
// ID, as it cannot name them.
func (m *Manager) RevokeUserSessions(ctx context.Context, userID string, except ...string) (int, error) {
	if userID == "" {
		return 0, errors.New("sessionkit: empty user ID")
	}
	now := m.cfg.Now()
	list, named, err := m.store.revokeUser(ctx, userID, except, now)
	if err != nil {
		return 0, err
	}
	return m.revoke(ctx, userID, list, named, now)
}

// iteratePage is how many entries Iterate and Sweep ask the store for at a
// time.
const iteratePage = 100

// Iterate calls fn with every live session in the store, for operator
// tools that list or purge sessions, until fn returns false. Entries whose
// deadline has passed by the manager's clock are skipped even if the store
// still holds them. Sessions created or deleted during the iteration may or
// may not be seen. The store must implement Iterator.
func (m *Manager) Iterate(ctx context.Context, fn func(SessionInfo) bool) error {
	return m.pages(ctx, func(page []SessionInfo, now time.Time) (bool, error) {
		for _, info := range page {
			if m.exp.alive(info, now) && !fn(info) {
				return false, nil
			}
		}
		return true, nil
	})
}

// Sweep ends every session in the store that has ended by the manager's
// clock (its idle or absolute timeout passed) and reports EventExpired for
// each, with its timeout, user and store key: the expiry of a session that
// no request presents again. It returns how many sessions it removed. The
// store must implement Iterator.
//
// Run it periodically, on one or on every instance, more often than the
// stores keep expired records (their KeepExpired option, by default
// DefaultKeepExpired): a record that a store's garbage collection deletes
// before a Sweep finds it ends without an event. Each Sweep pages through
// the whole store. With a store that implements Remover, each expiry is
// reported once across all the instances that sweep or load it; with one
// that does not, Sweep deletes with Store.Delete and reports every record
// it deleted, so that two instances sweeping at once may both report one
// expiry.
func (m *Manager) Sweep(ctx context.Context) (n int, err error) {
	err = m.pages(ctx, func(page []SessionInfo, now time.Time) (bool, error) {
		for _, info := range page {
			rec := m.exp.listed(info)
			if m.exp.ended(rec, now) == "" {
				continue
			}
			kind, err := m.end(ctx, rec, "", now)
			if err != nil {
				return false, err
			}
			if kind != 0 {
				n++
			}
		}
		return true, nil
	})
	return n, err
}

// pages calls fn with each page of the store's sessions and the manager's
// time when it arrived, until fn returns false or an error.
func (m *Manager) pages(ctx context.Context, fn func(page []SessionInfo, now time.Time) (more bool, err error)) error {
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
		if more, err := fn(page, m.cfg.Now()); !more || err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}
