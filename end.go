package sessionkit

import (
	"context"
	"time"
)

// end ends the stored session rec at now, through the store's Remover
// when it has one, and reports the end only if this call ended it: an
// instance that finds the session gone reports nothing, so that each end
// is reported once. The report is EventExpired, with the timeout, when rec
// had ended by now, and EventDestroyed with reason otherwise. end returns
// the kind it reported, or 0.
func (m *Manager) end(ctx context.Context, rec *Record, reason string, now time.Time) (EventKind, error) {
	timeout := m.exp.ended(rec, now)
	ended, err := m.store.end(ctx, rec, timeout != "")
	if err != nil || !ended {
		return 0, err
	}
	e := Event{Kind: EventDestroyed, ID: rec.ID, UserID: rec.UserID, Reason: reason}
	if timeout != "" {
		e.Kind, e.Reason = EventExpired, timeout
	}
	m.ev.lifecycle(ctx, e, rec.Meta)
	return e.Kind, nil
}

// revoke ends, at now, the sessions of userID that a backend's revocation
// listed (named), one by one with end, and returns how many were alive. A
// client store's revocation, which cannot name them, is reported as one
// EventDestroyed without ID, and counted -1.
func (m *Manager) revoke(ctx context.Context, userID string, list []SessionInfo, named bool, now time.Time) (int, error) {
	if !named {
		m.ev.lifecycle(ctx, Event{Kind: EventDestroyed, UserID: userID, Reason: ReasonRevoked}, nil)
		return -1, nil
	}
	n := 0
	for _, info := range list {
		kind, err := m.end(ctx, m.exp.listed(info), ReasonRevoked, now)
		if err != nil {
			return n, err
		}
		if kind == EventDestroyed {
			n++
		}
	}
	return n, nil
}
