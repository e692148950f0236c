package sessionkit

import (
	"context"
	"errors"
	"slices"
	"time"
)

// backend is where the manager keeps sessions: a server-side Store
// (serverStore) or a ClientStore that keeps them in the cookie itself
// (clientStore). This file is the one place where the two paths differ;
// the session logic above it is shared.
type backend interface {
	// open returns the record named by a cookie value, or says why the
	// value names none.
	open(ctx context.Context, value string) (opened, error)
	// expired drops a record that open returned but that has ended.
	expired(ctx context.Context, rec *Record) error
	// create stores a new session and returns its cookie value.
	create(ctx context.Context, rec *Record, token string) (value string, err error)
	// save writes the changes of a stored session, at now with the new idle
	// deadline exp (touch: the last write is TouchInterval old), and returns
	// the cookie value to send, or "" for none.
	save(ctx context.Context, s *Session, now, exp time.Time, touch bool) (value string, err error)
	// renew replaces the session stored for s with rec, under a new key.
	renew(ctx context.Context, s *Session, rec *Record) error
	// destroy ends the stored session rec.
	destroy(ctx context.Context, rec *Record) error
	// revokeOthers ends every other session of s's user, as revokeUser.
	revokeOthers(ctx context.Context, s *Session) (n int, ended []string, err error)
	// revokeUser ends the sessions of userID except the store keys in
	// except, and returns how many it ended (-1: unknown) and the store
	// keys of the live ones it knows of (none for a client store).
	revokeUser(ctx context.Context, userID string, except []string) (n int, ended []string, err error)
}

// opened is what backend.open found for a cookie value.
type opened struct {
	rec    *Record // nil when the value names no session
	token  string  // the session token (server stores)
	reseal bool    // seal the cookie again with the current key
	// rejected says why rec is nil (RejectedForged or RejectedUnknown),
	// and key is then the store key of an unknown token, if known.
	rejected string
	key      string
}

// storedState is what the store holds for the session, whatever the request
// changed since it was loaded.
type storedState struct {
	ID             string
	UserID         string
	CreatedAt      time.Time
	LastSeen       time.Time
	ExpiresAt      time.Time
	AbsoluteExpiry time.Time
}

// storedAs returns the state of the stored record rec.
func storedAs(rec *Record) storedState {
	return storedState{
		ID: rec.ID, UserID: rec.UserID, CreatedAt: rec.CreatedAt, LastSeen: rec.LastSeen,
		ExpiresAt: rec.ExpiresAt, AbsoluteExpiry: rec.AbsoluteExpiry,
	}
}

// record returns the stored header fields: enough for a client store's
// revocation list to know until when the session could still open.
func (st storedState) record() *Record {
	return &Record{
		ID: st.ID, UserID: st.UserID, CreatedAt: st.CreatedAt, LastSeen: st.LastSeen,
		ExpiresAt: st.ExpiresAt, AbsoluteExpiry: st.AbsoluteExpiry,
	}
}

// serverStore keeps sessions in a Store, under the token's store key.
type serverStore struct {
	m *Manager
	Store
}

func (b serverStore) open(ctx context.Context, value string) (opened, error) {
	token, ok := b.m.cfg.Tokens.Decode(value)
	if !ok {
		return opened{rejected: RejectedForged}, nil
	}
	key := b.m.cfg.Tokens.StoreKey(token)
	rec, err := b.Load(ctx, key)
	if rec == nil {
		return opened{rejected: RejectedUnknown, key: key}, err
	}
	return opened{rec: rec, token: token}, err
}

func (b serverStore) expired(ctx context.Context, rec *Record) error {
	return b.Delete(ctx, rec.ID)
}

func (b serverStore) create(ctx context.Context, rec *Record, token string) (string, error) {
	if err := b.Create(ctx, rec); err != nil {
		return "", err
	}
	return b.m.cfg.Tokens.Encode(token), nil
}

// save writes only what the request changed, as a Delta, or slides the
// idle deadline with Touch. The cookie is sent again when asked to, or when
// a persistent session's Max-Age moved.
func (b serverStore) save(ctx context.Context, s *Session, now, exp time.Time, touch bool) (string, error) {
	moved := !exp.Equal(s.stored.ExpiresAt)
	var err error
	switch {
	case s.status == StatusModified:
		var d Delta
		if s.delta != nil {
			d = *s.delta
		}
		d.LastSeen, d.ExpiresAt = now, exp
		if d.Persistent != nil {
			d.AbsoluteExpiry = s.rec.AbsoluteExpiry
		}
		err = b.Update(ctx, s.stored.ID, d)
	case touch:
		err = b.Touch(ctx, s.stored.ID, now, exp)
	default:
		moved = false
	}
	if err != nil || !(s.resend || (s.rec.Persistent && moved)) {
		return "", err
	}
	return b.m.cfg.Tokens.Encode(s.token), nil
}

// renew stores rec, then ends the old record at once or after RenewGrace.
// The grace is a hard cap: the old record's absolute deadline becomes the
// end of the grace, which no later save can extend (expiry.go caps every
// deadline by it), and requests on the old token cannot write (graced).
func (b serverStore) renew(ctx context.Context, s *Session, rec *Record) error {
	if err := b.Create(ctx, rec); err != nil {
		return err
	}
	var err error
	if grace := b.m.cfg.RenewGrace; grace > 0 {
		now := rec.CreatedAt // the time of the renewal
		end := now.Add(grace)
		if s.stored.AbsoluteExpiry.Before(end) {
			end = s.stored.AbsoluteExpiry
		}
		err = b.Update(ctx, s.stored.ID, Delta{LastSeen: now, ExpiresAt: end, AbsoluteExpiry: end})
	} else {
		err = b.Delete(ctx, s.stored.ID)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.status = StatusUnmodified
	return nil
}

func (b serverStore) destroy(ctx context.Context, rec *Record) error {
	return b.Delete(ctx, rec.ID)
}

func (b serverStore) revokeOthers(ctx context.Context, s *Session) (int, []string, error) {
	var keep []string
	if s.stored.ID != "" {
		keep = append(keep, s.stored.ID)
	}
	return b.revokeUser(ctx, s.rec.UserID, keep)
}

// revokeUser lists the user's sessions, then deletes them with
// DeleteByUser, so that it can name the sessions it ended. A session created
// between the two calls is deleted too but not named; one that ended
// between them is named though it ended otherwise.
func (b serverStore) revokeUser(ctx context.Context, userID string, except []string) (int, []string, error) {
	idx, ok := b.Store.(UserIndex)
	if !ok {
		return 0, nil, ErrNotSupported
	}
	list, err := idx.ListByUser(ctx, userID)
	if err != nil {
		return 0, nil, err
	}
	now := b.m.cfg.Now()
	var ended []string
	for _, info := range list {
		if !slices.Contains(except, info.ID) && b.m.alive(info, now) {
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
type clientStore struct {
	m *Manager
	ClientStore
}

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

func (b clientStore) create(ctx context.Context, rec *Record, _ string) (string, error) {
	return b.Seal(ctx, rec)
}

func (b clientStore) save(ctx context.Context, s *Session, now, exp time.Time, touch bool) (string, error) {
	if s.status != StatusModified && !s.resend && !touch {
		return "", nil
	}
	rec := s.edit()
	rec.Values = s.delta.applied(rec.Values)
	rec.LastSeen, rec.ExpiresAt = now, exp
	value, err := b.Seal(ctx, rec)
	if err != nil {
		return "", err
	}
	// A parallel request may have revoked the session (Destroy, Renew)
	// while this one ran: the value would not open, and sending it would
	// replace the browser's renewed cookie. Report it as a server store
	// does a record that vanished.
	opened, err := b.Open(ctx, value)
	if err != nil {
		return "", err
	}
	if opened == nil {
		return "", ErrNotFound
	}
	return value, nil
}

// renew revokes the old cookie at once, whatever RenewGrace says: a copied
// cookie carries its data. rec is sealed at commit.
func (b clientStore) renew(ctx context.Context, s *Session, _ *Record) error {
	if err := b.Revoke(ctx, s.stored.record()); err != nil {
		return err
	}
	s.status = StatusModified
	return nil
}

func (b clientStore) destroy(ctx context.Context, rec *Record) error {
	return b.Revoke(ctx, rec)
}

// revokeOthers makes every cookie of the user created before now stop
// opening; this session is sealed again as created now (its absolute
// deadline stays), so it lives on.
func (b clientStore) revokeOthers(ctx context.Context, s *Session) (int, []string, error) {
	now := b.m.cfg.Now()
	if _, err := b.revokeUserAt(ctx, s.rec.UserID, now); err != nil {
		return 0, nil, err
	}
	s.edit().CreatedAt, s.resend = now, true
	return -1, nil, nil
}

// revokeUser cannot spare sessions and cannot count or name them: it
// returns -1 and no keys.
func (b clientStore) revokeUser(ctx context.Context, userID string, except []string) (int, []string, error) {
	if len(except) > 0 {
		return 0, nil, ErrNotSupported
	}
	n, err := b.revokeUserAt(ctx, userID, b.m.cfg.Now())
	return n, nil, err
}

func (b clientStore) revokeUserAt(ctx context.Context, userID string, before time.Time) (int, error) {
	ur, ok := b.ClientStore.(UserRevoker)
	if !ok {
		return 0, ErrNotSupported
	}
	return -1, ur.RevokeUser(ctx, userID, before)
}
