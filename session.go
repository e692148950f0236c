package sessionkit

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"
)

// Session is one request's view of its session. Get it with
// Manager.Session. Its methods are safe for concurrent use by the goroutines
// of one request.
//
// Changes are saved just before the response starts (the first Write,
// WriteHeader or Flush). A change made after that returns ErrCommitted.
type Session struct {
	m   *Manager
	r   *http.Request
	err error // ErrNoSession, or why the session cannot be used

	mu        sync.Mutex
	status    Status
	committed bool   // saved (or failed to save): no more changes
	hadCookie bool   // the request carried a cookie of this manager
	graced    bool   // loaded through the old token of a renewal: read-only
	stored    Record // the stored header fields, no maps; ID "" until stored
	token     string // the token of the stored session
	// rec is the session as the request sees it, Values without delta.
	// Until owned it is shared (the store's record, or emptyRecord) and
	// read only: change it through edit.
	rec    *Record
	delta  *Delta // the pending changes; nil until the first (see pending)
	owned  bool   // rec is the session's own copy
	resend bool   // the cookie is due even without a change (new token, remember-me, retired key)
}

// emptyRecord is the shared, never modified record of a new session.
var emptyRecord Record

// edit returns the session's record for changing its fields, copying it
// first when it is shared. The caller holds s.mu.
func (s *Session) edit() *Record {
	if !s.owned {
		c := *s.rec
		s.rec, s.owned = &c, true
	}
	return s.rec
}

// pending returns the pending changes, allocating them on the first
// change. The caller holds s.mu.
func (s *Session) pending() *Delta {
	if s.delta == nil {
		s.delta = new(Delta)
	}
	return s.delta
}

// Status reports what a request did to its session.
type Status int

// The states of a Session.
const (
	StatusNew        Status = iota + 1 // not stored yet, unchanged
	StatusUnmodified                   // stored and unchanged
	StatusModified                     // changed; saved when the response starts
	StatusDestroyed                    // ended by Destroy, unchanged since
)

// String returns the status's name, such as "modified".
func (s Status) String() string {
	if s >= StatusNew && s <= StatusDestroyed {
		return [...]string{"new", "unmodified", "modified", "destroyed"}[s-StatusNew]
	}
	return "unknown"
}

// Session returns the session of the request whose context is ctx. Without
// the middleware it returns a Session whose methods all return ErrNoSession;
// it never returns nil and never panics.
func (m *Manager) Session(ctx context.Context) *Session {
	if s, ok := ctx.Value(m.key).(*Session); ok {
		return s
	}
	return &Session{m: m, err: ErrNoSession, status: StatusNew, rec: &emptyRecord}
}

// sessionContext carries a request's session, as context.WithValue would.
type sessionContext struct {
	context.Context
	key *int
	s   *Session
}

// Value returns the session for the manager's key.
func (c *sessionContext) Value(key any) any {
	if k, ok := key.(*int); ok && k == c.key {
		return c.s
	}
	return c.Context.Value(key)
}

// load reads the session named by the request's cookie. An absent,
// malformed, forged, unknown or expired cookie leaves a new, empty session:
// a token the server did not issue is never adopted. When the request
// carries several cookies of the name (a shadowing cookie from a sibling
// domain or path), the first that names a live session wins.
func (s *Session) load(ctx context.Context) error {
	m := s.m
	var buf [maxCookieValues]string
	values := cookieValues(buf[:0], s.r.Header, m.cfg.Cookie.Name)
	if len(values) == 0 {
		return nil
	}
	s.hadCookie = true
	now := m.cfg.Now()
	o, err := m.firstLive(ctx, values, now, func(o opened) error {
		if o.rec == nil {
			m.ev.rejected(ctx, o.rejected, o.key, m.cfg.Metadata(s.r))
			return nil
		}
		_, err := m.end(ctx, o.rec, "", now)
		return err
	})
	if rec := o.rec; rec != nil && err == nil {
		s.rec, s.token, s.status, s.resend = rec, o.token, StatusUnmodified, o.reseal
		s.stored, s.graced = header(rec), m.exp.graced(rec)
	}
	return err
}

// header returns rec without its maps: what the session keeps of the
// stored record.
func header(rec *Record) Record {
	h := *rec
	h.Values, h.Meta = nil, nil
	return h
}

// change runs f under the session's lock if the session can still be
// changed, and returns why not otherwise.
func (s *Session) change(f func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(true); err != nil {
		return err
	}
	return f()
}

// usable returns why the session cannot be changed, or nil. With write,
// the old token of a renewal, which may only read or end it, is refused.
func (s *Session) usable(write bool) error {
	switch {
	case s.err != nil:
		return s.err
	case s.committed:
		return ErrCommitted
	case write && s.graced:
		return ErrRenewed
	}
	return nil
}

// UserID returns the user linked to the session, or "".
func (s *Session) UserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.UserID
}

// SetUserID links the session to a user, for the per-user index ("your
// devices", "sign out everywhere"). Call Renew first when this is a login.
//
// With Config.MaxSessionsPerUser, linking is written to the store at once
// (storing a new session first) and may end the user's oldest sessions
// or, under RejectNew, return ErrTooManySessions and leave the session
// unlinked.
func (s *Session) SetUserID(userID string) error {
	return s.change(func() error {
		if s.limited(userID) {
			return s.linkLimited(userID)
		}
		s.edit().UserID = userID
		s.pending().UserID = &userID
		s.status = StatusModified
		return nil
	})
}

// RememberMe makes the session persistent (its cookie gets a Max-Age and
// survives a browser restart, under the remember-me timeouts) or turns it
// back into a browser-session cookie.
func (s *Session) RememberMe(on bool) error {
	return s.change(func() error {
		if s.rec.Persistent == on && (s.stored.ID != "" || s.status == StatusModified) {
			return nil
		}
		rec := s.edit()
		rec.Persistent = on
		if s.stored.ID != "" {
			rec.AbsoluteExpiry = s.m.exp.absolute(rec.CreatedAt, on)
		}
		s.pending().Persistent = &on
		s.status, s.resend = StatusModified, true
		return nil
	})
}

// Persistent reports whether remember-me is on.
func (s *Session) Persistent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Persistent
}

// ID returns the session's store key (Record.ID, compare SessionInfo.ID),
// or "" for a session not stored yet. By default a hash of the token, it is
// as secret as the cookie with package express's scheme.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stored.ID
}

// Meta returns a copy of the metadata recorded when the session was created
// (Config.Metadata: by default the client IP, User-Agent and
// Accept-Language), or nil for a session not stored yet.
func (s *Session) Meta() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stored.ID == "" {
		return nil
	}
	return maps.Clone(s.rec.Meta)
}

// Status reports what the request has done to the session so far.
func (s *Session) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Renew gives the session a new token, as every login and privilege change
// must (against session fixation). With keepData the values, user link and
// remember-me setting carry over; without, the session starts empty. The
// old token stops working at once, or after Config.RenewGrace. Renewal
// starts a new absolute lifetime: call it when the user authenticates.
func (s *Session) Renew(keepData bool) error {
	return s.change(func() error {
		m := s.m
		rec := &Record{Meta: s.rec.Meta}
		if keepData {
			rec = s.rec.Clone()
			rec.Values = maps.Clone(s.delta.applied(s.rec.Values))
		}
		s.delta = nil
		if s.stored.ID == "" {
			// A new session gets a fresh token when it is saved anyway.
			s.rec, s.owned = rec, true
			if !keepData && s.status == StatusModified {
				s.status = StatusNew
			}
			return nil
		}
		ctx := s.r.Context()
		token, err := s.begin(rec, m.cfg.Now())
		if err != nil {
			return err
		}
		old := s.stored
		stored, err := m.store.renew(ctx, &old, rec)
		if err != nil {
			return err
		}
		s.status = StatusModified
		if stored {
			s.status = StatusUnmodified
		}
		s.rec, s.owned, s.token, s.resend, s.stored = rec, true, token, true, header(rec)
		m.ev.lifecycle(ctx, Event{Kind: EventRenewed, ID: rec.ID, Previous: old.ID, UserID: rec.UserID}, rec.Meta)
		return nil
	})
}

// Destroy ends the session: it is deleted from the store at once (or
// revoked, for a client store) and the response expires the cookie. It
// reports EventDestroyed unless the session was already gone (see
// Remover). Values put after Destroy start a new session with a new token.
// Destroy also works on the old token of a renewal (see ErrRenewed): it
// ends that token only.
func (s *Session) Destroy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(false); err != nil {
		return err
	}
	if s.stored.ID != "" {
		old := s.stored
		old.Meta = s.rec.Meta
		if _, err := s.m.end(s.r.Context(), &old, ReasonDestroy, s.m.cfg.Now()); err != nil {
			return err
		}
	}
	s.token, s.rec, s.owned, s.stored, s.delta = "", &emptyRecord, false, Record{}, nil
	s.status, s.resend, s.graced = StatusDestroyed, false, false
	return nil
}

// RevokeOtherSessions ends every other session of the session's user ("sign
// out everywhere else") and returns how many it ended (-1 when a client
// store cannot count them). The store must implement UserIndex, or the
// client store UserRevoker. It emits events as Manager.RevokeUserSessions.
func (s *Session) RevokeOtherSessions() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(true); err != nil {
		return 0, err
	}
	if s.rec.UserID == "" {
		return 0, errors.New("sessionkit: session has no user")
	}
	ctx, now := s.r.Context(), s.m.cfg.Now()
	list, named, reseal, err := s.m.store.revokeOthers(ctx, s.rec.UserID, s.stored.ID, now)
	if err != nil {
		return 0, err
	}
	if reseal {
		s.edit().CreatedAt, s.resend = now, true
	}
	return s.m.revoke(ctx, s.rec.UserID, list, named, now)
}

// SetReason sets the Reason of the EventDestroyed that Destroy and
// RevokeOtherSessions report later in this request, such as ReasonLogout
// instead of ReasonDestroy, or ReasonPasswordChange instead of
// ReasonRevoked (see WithReason).
func (s *Session) SetReason(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r != nil {
		s.r = s.r.WithContext(WithReason(s.r.Context(), reason))
	}
}

// save writes the session's changes and returns the cookie to send, if any.
// It runs once, when the response starts.
func (s *Session) save() (*http.Cookie, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed || s.err != nil {
		return nil, nil
	}
	s.committed = true
	m, ctx, now := s.m, s.r.Context(), s.m.cfg.Now()
	if s.stored.ID == "" {
		if s.status == StatusModified {
			return s.create(ctx, now)
		}
		if s.hadCookie {
			// Destroyed, or a cookie that named no live session: clear it.
			return m.cfg.Cookie.cookie("", false, now, now), nil
		}
		return nil, nil
	}
	modified := s.status == StatusModified
	touch := !s.graced && now.Sub(s.rec.LastSeen) >= m.exp.touch
	if !modified && !touch && !s.resend {
		return nil, nil // unchanged, not due for a touch, cookie current: nothing to write
	}
	exp := m.exp.deadline(now, s.rec.Persistent, s.rec.AbsoluteExpiry)
	value, err := m.store.save(ctx, write{
		rec: s.rec, delta: s.delta, id: s.stored.ID, token: s.token, stored: s.stored.ExpiresAt,
		now: now, exp: exp, modified: modified, resend: s.resend, touch: touch,
	})
	if errors.Is(err, ErrNotFound) {
		// A parallel request ended the session (renewed or destroyed it)
		// while this one ran: never bring it back, and leave the cookie
		// alone, as the browser may already hold the renewed one.
		m.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session ended by a parallel request; changes dropped")
		return nil, nil
	}
	if err != nil || value == "" {
		return nil, err
	}
	return m.cfg.Cookie.cookie(value, s.rec.Persistent, exp, now), nil
}

// create stores a new session under a fresh token.
func (s *Session) create(ctx context.Context, now time.Time) (*http.Cookie, error) {
	rec := s.edit()
	rec.Values = s.delta.applied(rec.Values)
	token, err := s.begin(rec, now)
	if err != nil {
		return nil, err
	}
	value, err := s.m.store.create(ctx, rec, token)
	if err != nil {
		return nil, err
	}
	s.token, s.stored = token, header(rec)
	s.m.ev.lifecycle(ctx, Event{Kind: EventCreated, ID: rec.ID, UserID: rec.UserID}, rec.Meta)
	return s.m.cfg.Cookie.cookie(value, rec.Persistent, rec.ExpiresAt, now), nil
}

// begin gives rec, a session created or renewed at now, a fresh token, its
// store key, its deadlines and its metadata.
func (s *Session) begin(rec *Record, now time.Time) (token string, err error) {
	m := s.m
	if token, err = m.cfg.Tokens.New(); err != nil {
		return "", err
	}
	rec.ID = m.cfg.Tokens.StoreKey(token)
	m.exp.start(rec, now)
	if rec.Meta == nil {
		rec.Meta = m.cfg.Metadata(s.r)
	}
	return token, nil
}

// limited reports whether linking the session to userID goes through the
// session limit. Unlinking ("") never does.
func (s *Session) limited(userID string) bool {
	return s.m.cfg.MaxSessionsPerUser > 0 && userID != ""
}

// linkLimited links the session to userID under Config.MaxSessionsPerUser,
// at once in the store (SessionLimiter.LinkUser), so that a refusal reaches
// the handler as ErrTooManySessions. A session not stored yet is stored
// first, with its pending changes; its cookie goes out with the response.
// The caller holds s.mu and has checked that the session is writable.
func (s *Session) linkLimited(userID string) error {
	m := s.m
	ctx := s.r.Context()
	now := m.cfg.Now()
	if s.stored.ID == "" {
		if _, err := s.create(ctx, now); err != nil {
			return err
		}
		s.delta, s.status, s.resend = nil, StatusUnmodified, true
	}
	if s.stored.UserID != userID { // a session linked already is counted
		l := m.cfg.Store.(SessionLimiter) // checked by New
		evicted, err := l.LinkUser(ctx, s.stored.ID, userID, m.cfg.MaxSessionsPerUser, m.cfg.LimitPolicy == EvictOldest, now)
		if err != nil {
			return err
		}
		s.stored.UserID = userID
		for _, id := range evicted {
			m.ev.lifecycle(ctx, Event{Kind: EventDestroyed, ID: id, UserID: userID, Reason: ReasonSessionLimit}, nil)
		}
	}
	s.edit().UserID = userID
	if s.delta != nil {
		s.delta.UserID = nil // the store has it
	}
	return nil
}
