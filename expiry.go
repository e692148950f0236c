package sessionkit

import "time"

// This file is the one place that decides when a session ends. Stores do
// not: they may hand out records whose ExpiresAt has passed (their TTL or
// cleanup only collects garbage), so everything the manager loads, lists or
// iterates goes through ended, with the manager's clock (Config.Now).

// idleFor returns the idle timeout that applies to a session.
func (m *Manager) idleFor(persistent bool) time.Duration {
	if persistent {
		return m.cfg.RememberMeIdleTimeout
	}
	return m.cfg.IdleTimeout
}

// deadline returns the idle deadline of a session active at now: the
// earlier of now plus its idle timeout and its absolute deadline.
func (m *Manager) deadline(now time.Time, persistent bool, absolute time.Time) time.Time {
	e := now.Add(m.idleFor(persistent))
	if absolute.Before(e) {
		return absolute
	}
	return e
}

// absolute returns the hard deadline of a session created (or renewed) at
// createdAt: Lifetime later, or RememberMeLifetime for remember-me.
func (m *Manager) absolute(createdAt time.Time, persistent bool) time.Time {
	if persistent {
		return createdAt.Add(m.cfg.RememberMeLifetime)
	}
	return createdAt.Add(m.cfg.Lifetime)
}

// start sets the times of a session that starts at now: created or renewed.
func (m *Manager) start(rec *Record, now time.Time) {
	rec.CreatedAt, rec.LastSeen = now, now
	rec.AbsoluteExpiry = m.absolute(now, rec.Persistent)
	rec.ExpiresAt = m.deadline(now, rec.Persistent, rec.AbsoluteExpiry)
}

// ended returns why rec has ended at now, by the manager's own settings and
// clock whatever the store's TTL did, or "" while it is alive.
func (m *Manager) ended(rec *Record, now time.Time) string {
	switch {
	case !now.Before(rec.AbsoluteExpiry),
		!now.Before(m.absolute(rec.CreatedAt, rec.Persistent)):
		return "absolute timeout"
	case !now.Before(rec.ExpiresAt),
		!now.Before(rec.LastSeen.Add(m.idleFor(rec.Persistent))):
		return "idle timeout"
	}
	return ""
}

// alive reports whether the session a listing entry describes is alive at
// now. An entry has no AbsoluteExpiry; its ExpiresAt is never later.
func (m *Manager) alive(info SessionInfo, now time.Time) bool {
	return m.ended(&Record{
		CreatedAt: info.CreatedAt, LastSeen: info.LastSeen, ExpiresAt: info.ExpiresAt,
		AbsoluteExpiry: info.ExpiresAt, Persistent: info.Persistent,
	}, now) == ""
}

// graced reports whether rec is the old record of a session renewed under
// Config.RenewGrace: the renewal cut its absolute deadline, short of the
// one its creation gives, to at most RenewGrace after its last write. Its
// token may read the session until then but never write it. (A session
// whose Lifetime a configuration change raised looks the same in the last
// RenewGrace of its life, and is read-only then.) Client stores revoke the
// old cookie at once and have no grace.
func (m *Manager) graced(rec *Record) bool {
	return m.cfg.RenewGrace > 0 && m.cfg.ClientStore == nil &&
		rec.AbsoluteExpiry.Before(m.absolute(rec.CreatedAt, rec.Persistent)) &&
		!rec.AbsoluteExpiry.After(rec.LastSeen.Add(m.cfg.RenewGrace))
}
