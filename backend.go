package sessionkit

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// backend is where the manager keeps sessions: a server-side Store
// (serverStore) or a ClientStore that keeps them in the cookie itself
// (clientStore). This file is the one place where the two paths differ;
// the session logic above it is shared.
type backend interface {
	// open returns the record named by a cookie value, or nil for a value
	// that names none; token is the session token (server stores), reseal
	// asks for the cookie to be written again with the current key.
	open(ctx context.Context, value string) (rec *Record, token string, reseal bool, err error)
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
	// revokeOthers ends every other session of s's user.
	revokeOthers(ctx context.Context, s *Session) (int, error)
	// revokeUser ends the sessions of userID except the store keys in except.
	revokeUser(ctx context.Context, userID string, except []string) (int, error)
}

// storedState is what the store holds for the session, whatever the request
// changed since it was loaded.
type storedState struct {
	ID        string
	UserID    string
	ExpiresAt time.Time
}

func (st storedState) record() *Record {
	return &Record{ID: st.ID, UserID: st.UserID, ExpiresAt: st.ExpiresAt}
}

// serverStore keeps sessions in a Store, under the token's store key.
type serverStore struct {
	m *Manager
	Store
}

func (b serverStore) open(ctx context.Context, value string) (*Record, string, bool, error) {
	token, ok := b.m.cfg.Tokens.Decode(value)
	if !ok {
		b.m.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "sessionkit: malformed or forged session cookie ignored")
		return nil, "", false, nil
	}
	rec, err := b.Load(ctx, b.m.cfg.Tokens.StoreKey(token))
	return rec, token, false, err
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
func (b serverStore) renew(ctx context.Context, s *Session, rec *Record) error {
	if err := b.Create(ctx, rec); err != nil {
		return err
	}
	var err error
	if grace := b.m.cfg.RenewGrace; grace > 0 {
		now := rec.CreatedAt // the time of the renewal
		err = b.Touch(ctx, s.stored.ID, now, now.Add(grace))
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

func (b serverStore) revokeOthers(ctx context.Context, s *Session) (int, error) {
	var keep []string
	if s.stored.ID != "" {
		keep = append(keep, s.stored.ID)
	}
	return b.revokeUser(ctx, s.rec.UserID, keep)
}

func (b serverStore) revokeUser(ctx context.Context, userID string, except []string) (int, error) {
	idx, ok := b.Store.(UserIndex)
	if !ok {
		return 0, ErrNotSupported
	}
	return idx.DeleteByUser(ctx, userID, except...)
}

// clientStore keeps each session sealed in its cookie: every write seals the
// whole record again.
type clientStore struct {
	m *Manager
	ClientStore
}

func (b clientStore) open(ctx context.Context, value string) (*Record, string, bool, error) {
	if rs, ok := b.ClientStore.(Resealer); ok {
		rec, reseal, err := rs.OpenReseal(ctx, value)
		return rec, "", reseal, err
	}
	rec, err := b.Open(ctx, value)
	return rec, "", false, err
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
	return b.Seal(ctx, rec)
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
func (b clientStore) revokeOthers(ctx context.Context, s *Session) (int, error) {
	now := b.m.cfg.Now()
	if _, err := b.revokeUserAt(ctx, s.rec.UserID, now); err != nil {
		return 0, err
	}
	s.edit().CreatedAt, s.resend = now, true
	return -1, nil
}

// revokeUser cannot spare sessions and cannot count them: it returns -1.
func (b clientStore) revokeUser(ctx context.Context, userID string, except []string) (int, error) {
	if len(except) > 0 {
		return 0, ErrNotSupported
	}
	return b.revokeUserAt(ctx, userID, b.m.cfg.Now())
}

func (b clientStore) revokeUserAt(ctx context.Context, userID string, before time.Time) (int, error) {
	ur, ok := b.ClientStore.(UserRevoker)
	if !ok {
		return 0, ErrNotSupported
	}
	return -1, ur.RevokeUser(ctx, userID, before)
}
