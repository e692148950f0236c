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
	// end ends the stored session rec and reports whether this call ended
	// it (see Remover), so that each end is reported once. expired says
	// that rec had ended already by the manager's clock.
	end(ctx context.Context, rec *Record, expired bool) (ended bool, err error)
	// create stores a new session and returns its cookie value.
	create(ctx context.Context, rec *Record, token string) (value string, err error)
	// save writes the changes of a stored session and returns the cookie
	// value to send, or "" for none. It is called only when the session
	// changed, is due for a touch or must send its cookie again.
	save(ctx context.Context, w write) (value string, err error)
	// renew stores rec, the renewal of the stored session old, and ends
	// old. stored is false when rec is only written by the next save.
	renew(ctx context.Context, old, rec *Record) (stored bool, err error)
	// revokeOthers revokes, at now, every session of userID but the
	// stored session id, as revokeUser does. With reseal, the session id
	// must be written again as created at now to survive.
	revokeOthers(ctx context.Context, userID, id string, now time.Time) (list []SessionInfo, named, reseal bool, err error)
	// revokeUser revokes, at now, the sessions of userID except the store
	// keys in except. A server store only lists them (named true), for the
	// manager to end one by one with end; a client store ends them all at
	// once and cannot name them.
	revokeUser(ctx context.Context, userID string, except []string, now time.Time) (list []SessionInfo, named bool, err error)
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

// end removes the record, expired or not.
func (b serverStore) end(ctx context.Context, rec *Record, _ bool) (bool, error) {
	return remove(ctx, b.Store, rec.ID)
}

// remove deletes the record id from st and reports whether this call
// deleted it, through Remover when st has it. Delete cannot tell: without
// Remover every call reports true, so that two instances ending one session
// may both report it.
func remove(ctx context.Context, st Store, id string) (bool, error) {
	if r, ok := st.(Remover); ok {
		return r.Remove(ctx, id)
	}
	if err := st.Delete(ctx, id); err != nil {
		return false, err
	}
	return true, nil
}

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
// cannot write (timeouts.graced). An old record whose absolute deadline
// comes first ends at once: cutting nothing, the grace could not mark it.
func (b serverStore) renew(ctx context.Context, old, rec *Record) (bool, error) {
	if err := b.Create(ctx, rec); err != nil {
		return false, err
	}
	var err error
	now := rec.CreatedAt // the time of the renewal
	if end := now.Add(b.exp.grace); b.exp.grace > 0 && end.Before(old.AbsoluteExpiry) {
		err = b.Update(ctx, old.ID, Delta{LastSeen: now, ExpiresAt: end, AbsoluteExpiry: end})
	} else {
		err = b.Delete(ctx, old.ID)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return true, nil
}

func (b serverStore) revokeOthers(ctx context.Context, userID, id string, now time.Time) ([]SessionInfo, bool, bool, error) {
	var except []string
	if id != "" {
		except = append(except, id)
	}
	list, named, err := b.revokeUser(ctx, userID, except, now)
	return list, named, false, err
}

// revokeUser lists the user's sessions but those in except, for the
// manager to end one by one, each with its own event: UserIndex.DeleteByUser
// cannot say which sessions it deleted. A session created after the listing
// is not ended.
func (b serverStore) revokeUser(ctx context.Context, userID string, except []string, _ time.Time) ([]SessionInfo, bool, error) {
	idx, ok := b.Store.(UserIndex)
	if !ok {
		return nil, false, ErrNotSupported
	}
	list, err := idx.ListByUser(ctx, userID)
	if err != nil {
		return nil, false, err
	}
	return slices.DeleteFunc(list, func(info SessionInfo) bool { return slices.Contains(except, info.ID) }), true, nil
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

// end revokes the cookie of a live session. An expired one is kept
// nowhere, and the manager refuses it whatever the store says: nothing to
// do.
func (b clientStore) end(ctx context.Context, rec *Record, expired bool) (bool, error) {
	if expired {
		return true, nil
	}
	if err := b.Revoke(ctx, rec); err != nil {
		return false, err
	}
	return true, nil
}

func (b clientStore) create(ctx context.Context, rec *Record, _ string) (string, error) {
	return b.Seal(ctx, rec)
}

func (b clientStore) save(ctx context.Context, w write) (string, error) {
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
func (b clientStore) revokeOthers(ctx context.Context, userID, _ string, now time.Time) ([]SessionInfo, bool, bool, error) {
	if _, _, err := b.revokeUser(ctx, userID, nil, now); err != nil {
		return nil, false, false, err
	}
	return nil, false, true, nil
}

// revokeUser cannot spare sessions and cannot count or name them: cookies
// are not enumerable.
func (b clientStore) revokeUser(ctx context.Context, userID string, except []string, now time.Time) ([]SessionInfo, bool, error) {
	ur, ok := b.ClientStore.(UserRevoker)
	if !ok || len(except) > 0 {
		return nil, false, ErrNotSupported
	}
	return nil, false, ur.RevokeUser(ctx, userID, now)
}
