package sessionkit

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// backend is where the manager keeps sessions: a Store (serverStore) or a
// ClientStore (clientStore). It is the one place where the two differ.
type backend interface {
	// open returns the record named by a cookie value, or says why the
	// value names none.
	open(ctx context.Context, value string) (opened, error)
	// expired drops a record that open returned but that has ended.
	expired(ctx context.Context, rec *Record) error
	// create stores a new session and returns its cookie value.
	create(ctx context.Context, rec *Record, token string) (value string, err error)
	// save writes the changes of a stored session and returns the cookie
	// value to send, or "" for none.
	save(ctx context.Context, w write) (value string, err error)
	// renew stores rec, the renewal of the stored session old, and ends
	// old. stored is false when rec is only written by the next save.
	renew(ctx context.Context, old, rec *Record) (stored bool, err error)
	// destroy ends the stored session rec.
	destroy(ctx context.Context, rec *Record) error
	// revokeOthers ends, at now, every session of userID but the stored
	// session id, as revokeUser does. With reseal, the session id must be
	// written again as created at now to survive.
	revokeOthers(ctx context.Context, userID, id string, now time.Time) (n int, ended []string, reseal bool, err error)
	// revokeUser ends, at now, the sessions of userID except the store keys
	// in except, and returns how many it ended (-1: unknown) and the store
	// keys of the live ones it knows of (none for a client store).
	revokeUser(ctx context.Context, userID string, except []string, now time.Time) (n int, ended []string, err error)
}

// opened is what backend.open found for a cookie value.
type opened struct {
	rec    *Record // nil when the value names no session
	token  string  // the session token (server stores)
	reseal bool    // seal the cookie again with the current key
	// rejected says why rec is nil (RejectedForged or RejectedUnknown),
	// and key is then the store key of an unknown token, if known.
	rejected, key string
}

// write is what a save of a stored session writes.
type write struct {
	rec                     *Record   // the session's fields; Values without delta
	delta                   *Delta    // the pending changes, or nil
	id, token               string    // the stored session's store key and token
	stored                  time.Time // the stored ExpiresAt
	now, exp                time.Time // the time of the save, the new ExpiresAt
	modified, resend, touch bool      // touch: the last write is TouchInterval old
}

// serverStore keeps sessions in a Store, under the token's store key.
type serverStore struct {
	Store
	tokens Tokens
	exp    timeouts
}

func (b serverStore) open(ctx context.Context, value string) (opened, error) {
	token, ok := b.tokens.Decode(value)
	if !ok {
		return opened{rejected: RejectedForged}, nil
	}
	key := b.tokens.StoreKey(token)
	rec, err := b.Load(ctx, key)
	if rec == nil {
		return opened{rejected: RejectedUnknown, key: key}, err
	}
	return opened{rec: rec, token: token}, err
}

func (b serverStore) expired(ctx context.Context, rec *Record) error { return b.Delete(ctx, rec.ID) }

func (b serverStore) destroy(ctx context.Context, rec *Record) error { return b.Delete(ctx, rec.ID) }

func (b serverStore) create(ctx context.Context, rec *Record, token string) (string, error) {
	if err := b.Create(ctx, rec); err != nil {
		return "", err
	}
	return b.tokens.Encode(token), nil
}

// save writes only what the request changed, as a Delta, or slides the
// idle deadline with Touch. The cookie is sent again when asked to, or when
// a persistent session's Max-Age moved.
func (b serverStore) save(ctx context.Context, w write) (string, error) {
	moved := !w.exp.Equal(w.stored)
	var err error
	switch {
	case w.modified:
		var d Delta
		if w.delta != nil {
			d = *w.delta
		}
		d.LastSeen, d.ExpiresAt = w.now, w.exp
		if d.Persistent != nil {
			d.AbsoluteExpiry = w.rec.AbsoluteExpiry
		}
		err = b.Update(ctx, w.id, d)
	case w.touch:
		err = b.Touch(ctx, w.id, w.now, w.exp)
	default:
		moved = false
	}
	if err != nil || !(w.resend || w.rec.Persistent && moved) {
		return "", err
	}
	return b.tokens.Encode(w.token), nil
}

// renew ends the old record at once or after RenewGrace. The grace is a
// hard cap: the old record's absolute deadline becomes the end of the
// grace, which no later save can extend, and requests on the old token
// cannot write (timeouts.graced).
func (b serverStore) renew(ctx context.Context, old, rec *Record) (bool, error) {
	if err := b.Create(ctx, rec); err != nil {
		return false, err
	}
	var err error
	if b.exp.grace > 0 {
		now := rec.CreatedAt // the time of the renewal
		end := now.Add(b.exp.grace)
		if old.AbsoluteExpiry.Before(end) {
			end = old.AbsoluteExpiry
		}
		err = b.Update(ctx, old.ID, Delta{LastSeen: now, ExpiresAt: end, AbsoluteExpiry: end})
	} else {
		err = b.Delete(ctx, old.ID)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return true, nil
}

func (b serverStore) revokeOthers(ctx context.Context, userID, id string, now time.Time) (int, []string, bool, error) {
	var except []string
	if id != "" {
		except = append(except, id)
	}
	n, ended, err := b.revokeUser(ctx, userID, except, now)
	return n, ended, false, err
}

// revokeUser lists the user's sessions, then deletes them with
// DeleteByUser, so that it can name the sessions it ended. A session created
// between the two calls is deleted too but not named; one that ended
// between them is named though it ended otherwise.
func (b serverStore) revokeUser(ctx context.Context, userID string, except []string, now time.Time) (int, []string, error) {
	idx, ok := b.Store.(UserIndex)
	if !ok {
		return 0, nil, ErrNotSupported
	}
	list, err := idx.ListByUser(ctx, userID)
	if err != nil {
		return 0, nil, err
	}
	var ended []string
	for _, info := range list {
		if !slices.Contains(except, info.ID) && b.exp.alive(info, now) {
			ended = append(ended, info.ID)
		}
	}
	n, err := idx.DeleteByUser(ctx, userID, except...)
	if err != nil {
		return 0, nil, err
	}
	return n, ended, nil
}

// clientStore keeps each session sealed in its cookie: every write seals the
// whole record again.
type clientStore struct{ ClientStore }

// open cannot tell a forged value from an unknown one: both are unknown.
func (b clientStore) open(ctx context.Context, value string) (opened, error) {
	var o opened
	var err error
	if rs, ok := b.ClientStore.(Resealer); ok {
		o.rec, o.reseal, err = rs.OpenReseal(ctx, value)
	} else {
		o.rec, err = b.Open(ctx, value)
	}
	if o.rec == nil {
		o.rejected = RejectedUnknown
	}
	return o, err
}

// expired does nothing: an ended cookie is not kept anywhere.
func (clientStore) expired(context.Context, *Record) error { return nil }

func (b clientStore) destroy(ctx context.Context, rec *Record) error { return b.Revoke(ctx, rec) }

func (b clientStore) create(ctx context.Context, rec *Record, _ string) (string, error) {
	return b.Seal(ctx, rec)
}

func (b clientStore) save(ctx context.Context, w write) (string, error) {
	if !w.modified && !w.resend && !w.touch {
		return "", nil
	}
	rec := *w.rec
	rec.Values = w.delta.applied(rec.Values)
	rec.LastSeen, rec.ExpiresAt = w.now, w.exp
	value, err := b.Seal(ctx, &rec)
	if err != nil {
		return "", err
	}
	// A parallel request may have revoked the session (Destroy, Renew)
	// while this one ran: the value would not open, and sending it would
	// replace the browser's renewed cookie. Report it as a server store
	// does a record that vanished.
	if opened, err := b.Open(ctx, value); opened == nil || err != nil {
		return "", cmp.Or(err, ErrNotFound)
	}
	return value, nil
}

// renew revokes the old cookie at once, whatever RenewGrace says: a copied
// cookie carries its data. rec is sealed at commit.
func (b clientStore) renew(ctx context.Context, old, _ *Record) (bool, error) {
	return false, b.Revoke(ctx, old)
}

// revokeOthers makes every cookie of the user created before now stop
// opening; this session, sealed again as created now (its absolute
// deadline stays), lives on.
func (b clientStore) revokeOthers(ctx context.Context, userID, _ string, now time.Time) (int, []string, bool, error) {
	if _, _, err := b.revokeUser(ctx, userID, nil, now); err != nil {
		return 0, nil, false, err
	}
	return -1, nil, true, nil
}

// revokeUser cannot spare sessions and cannot count or name them: it
// returns -1 and no keys.
func (b clientStore) revokeUser(ctx context.Context, userID string, except []string, now time.Time) (int, []string, error) {
	ur, ok := b.ClientStore.(UserRevoker)
	if !ok || len(except) > 0 {
		return 0, nil, ErrNotSupported
	}
	return -1, nil, ur.RevokeUser(ctx, userID, now)
}
