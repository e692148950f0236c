package sessionkit

import "time"

// timeouts decides when a session ends; nothing else does. Stores may hand
// out records whose ExpiresAt has passed (their TTL or cleanup only
// collects garbage), so everything the manager loads, lists or iterates goes
// through ended, with the manager's clock (Config.Now).
type timeouts struct {
	idle, lifetime                 time.Duration
	rememberIdle, rememberLifetime time.Duration
	touch                          time.Duration // TouchInterval
	grace                          time.Duration // RenewGrace; 0 for a client store
}

// idleFor returns the idle timeout that applies to a session.
func (t timeouts) idleFor(persistent bool) time.Duration {
	if persistent {
		return t.rememberIdle
	}
	return t.idle
}

// deadline returns the idle deadline of a session active at now, capped by
// its absolute deadline.
func (t timeouts) deadline(now time.Time, persistent bool, absolute time.Time) time.Time {
	e := now.Add(t.idleFor(persistent))
	if absolute.Before(e) {
		return absolute
	}
	return e
}

// absolute returns the hard deadline of a session created (or renewed) at
// createdAt.
func (t timeouts) absolute(createdAt time.Time, persistent bool) time.Time {
	if persistent {
		return createdAt.Add(t.rememberLifetime)
	}
	return createdAt.Add(t.lifetime)
}

// start sets the times of a session created or renewed at now.
func (t timeouts) start(rec *Record, now time.Time) {
	rec.CreatedAt, rec.LastSeen = now, now
	rec.AbsoluteExpiry = t.absolute(now, rec.Persistent)
	rec.ExpiresAt = t.deadline(now, rec.Persistent, rec.AbsoluteExpiry)
}

// ended returns why rec has ended at now, whatever the store's TTL did, or
// "" while it is alive.
func (t timeouts) ended(rec *Record, now time.Time) string {
	switch {
	case !now.Before(rec.AbsoluteExpiry), !now.Before(t.absolute(rec.CreatedAt, rec.Persistent)):
		return "absolute timeout"
	case !now.Before(rec.ExpiresAt), !now.Before(rec.LastSeen.Add(t.idleFor(rec.Persistent))):
		return "idle timeout"
	}
	return ""
}

// listed returns the record of a listing entry as far as ended needs it.
// An entry has no AbsoluteExpiry: an ExpiresAt short of the idle timeout
// after LastSeen was cut by it, and otherwise the deadline from creation
// stands in for it, so that ended gives the right timeout.
func (t timeouts) listed(info SessionInfo) *Record {
	rec := &Record{
		ID: info.ID, UserID: info.UserID, CreatedAt: info.CreatedAt, LastSeen: info.LastSeen,
		ExpiresAt: info.ExpiresAt, Persistent: info.Persistent, Meta: info.Meta,
		AbsoluteExpiry: t.absolute(info.CreatedAt, info.Persistent),
	}
	if info.ExpiresAt.Before(info.LastSeen.Add(t.idleFor(info.Persistent))) {
		rec.AbsoluteExpiry = info.ExpiresAt
	}
	return rec
}

// alive reports whether the session of a listing entry is alive at now.
func (t timeouts) alive(info SessionInfo, now time.Time) bool {
	return t.ended(t.listed(info), now) == ""
}

// graced reports whether rec is the old record of a session renewed under
// RenewGrace: the renewal cut its absolute deadline, short of the one its
// creation gives, to at most the grace after its last write. Its token may
// read the session until then but never write it, and listings leave it
// out. A listing entry (see listed) tells too, as the grace is shorter than
// the idle timeout. (A session whose Lifetime a configuration change
// raised looks the same in the last grace of its life, and is read-only
// and unlisted then.)
func (t timeouts) graced(rec *Record) bool {
	return t.grace > 0 && rec.AbsoluteExpiry.Before(t.absolute(rec.CreatedAt, rec.Persistent)) &&
		!rec.AbsoluteExpiry.After(rec.LastSeen.Add(t.grace))
}
