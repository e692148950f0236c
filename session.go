package sessionkit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// reservedPrefix starts the keys that sessionkit itself uses.
const reservedPrefix = "sessionkit."

const flashKey = reservedPrefix + "flash"

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

	w   responseWriter // the middleware's writer, allocated with the session
	ctx sessionContext // the request's context, allocated with the session

	mu        sync.Mutex
	token     string  // the current token; "" until stored (server stores)
	rec       *Record // the current state, pending changes included
	shared    bool    // rec came from Store.Load and must not be modified
	stored    bool    // rec exists in the store or in the client's cookie
	stored0   storedState
	hadCookie bool // the request carried a cookie of this manager
	destroyed bool
	committed bool

	// Pending changes, written as one Delta at commit.
	modified   bool
	set        map[string][]byte
	del        map[string]struct{}
	cleared    bool
	userSet    bool
	persistSet bool
	sendCookie bool // a Set-Cookie is due even without a store write
	reseal     bool // client store: seal again even if nothing changed
}

// ensureRec makes s.rec a record whose header fields (user, remember-me,
// times) this session may change. A loaded record belongs to the store, so
// it is copied first; its Values map is shared and never modified: value
// changes live in the pending set until they are saved.
func (s *Session) ensureRec() {
	switch {
	case s.rec == nil:
		s.rec = &Record{}
	case s.shared:
		c := *s.rec
		s.rec = &c
	}
	s.shared = false
}

// usable returns why the session cannot be used, or nil.
func (s *Session) usable() error {
	if s.err != nil {
		return s.err
	}
	if s.committed {
		return ErrCommitted
	}
	return nil
}

// lookup returns the encoded value of key, pending changes included.
// The caller holds s.mu.
func (s *Session) lookup(key string) ([]byte, bool) {
	if b, ok := s.set[key]; ok {
		return b, true
	}
	if s.cleared || s.rec == nil {
		return nil, false
	}
	if _, ok := s.del[key]; ok {
		return nil, false
	}
	b, ok := s.rec.Values[key]
	return b, ok
}

// values returns every value, pending changes included. The result may be
// the loaded record's own map, which must not be modified.
// The caller holds s.mu.
func (s *Session) values() map[string][]byte {
	if !s.cleared && len(s.set) == 0 && len(s.del) == 0 && s.rec != nil {
		return s.rec.Values
	}
	out := make(map[string][]byte)
	if !s.cleared && s.rec != nil {
		for k, v := range s.rec.Values {
			if _, ok := s.del[k]; !ok {
				out[k] = v
			}
		}
	}
	for k, v := range s.set {
		out[k] = v
	}
	return out
}

// Get decodes the value stored under key into dst, which must be a pointer.
// It reports whether the key was present.
func (s *Session) Get(key string, dst any) (bool, error) {
	b, ok, err := s.raw(key)
	if !ok || err != nil {
		return ok, err
	}
	return true, s.decode(key, b, dst)
}

// raw returns the encoded value of key.
func (s *Session) raw(key string) ([]byte, bool, error) {
	if s.err != nil {
		return nil, false, s.err
	}
	s.mu.Lock()
	b, ok := s.lookup(key)
	s.mu.Unlock()
	return b, ok, nil
}

func (s *Session) decode(key string, b []byte, dst any) error {
	if err := s.m.codec.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("sessionkit: decode %q: %w", key, err)
	}
	return nil
}

// Get returns the value stored under key, decoded into a T. It reports
// whether the key was present; a value that cannot be decoded into T is an
// error.
func Get[T any](s *Session, key string) (T, bool, error) {
	var zero T
	b, ok, err := s.raw(key)
	if !ok || err != nil {
		return zero, ok, err
	}
	v := new(T)
	if err := s.decode(key, b, v); err != nil {
		return zero, true, err
	}
	return *v, true, nil
}

// Pop returns the value stored under key, decoded into a T, and deletes it.
func Pop[T any](s *Session, key string) (T, bool, error) {
	v, ok, err := Get[T](s, key)
	if err != nil || !ok {
		return v, ok, err
	}
	return v, true, s.Delete(key)
}

// Put encodes v with the manager's Codec and stores it under key.
func (s *Session) Put(key string, v any) error {
	if strings.HasPrefix(key, reservedPrefix) {
		return fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	if s.err != nil {
		return s.err
	}
	b, err := s.m.codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("sessionkit: encode %q: %w", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.setLocked(key, b)
	return nil
}

// setLocked records key=b as a pending change. The caller holds s.mu.
func (s *Session) setLocked(key string, b []byte) {
	if s.set == nil {
		s.set = make(map[string][]byte)
	}
	s.set[key] = b
	delete(s.del, key)
	s.modified = true
}

// Delete removes key. Deleting a missing key is not an error.
func (s *Session) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if _, ok := s.lookup(key); !ok {
		return nil
	}
	delete(s.set, key)
	if !s.cleared {
		if s.del == nil {
			s.del = make(map[string]struct{})
		}
		s.del[key] = struct{}{}
	}
	s.modified = true
	return nil
}

// Clear removes every value. The session itself, its user link and its
// remember-me setting stay.
func (s *Session) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.set, s.del, s.cleared, s.modified = nil, nil, true, true
	return nil
}

// Keys returns the session's keys in sorted order, without reserved ones.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.values() {
		if !strings.HasPrefix(k, reservedPrefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Has reports whether key is present.
func (s *Session) Has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.lookup(key)
	return ok
}

// Flash is a one-time message shown after a redirect.
type Flash struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// AddFlash queues a message for the next page the client views.
func (s *Session) AddFlash(kind, message string) error {
	if s.err != nil {
		return s.err
	}
	// Read-modify-write under one lock, so concurrent calls lose nothing.
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	var list []Flash
	if b, ok := s.lookup(flashKey); ok {
		_ = s.m.codec.Unmarshal(b, &list) // a broken list is replaced
	}
	list = append(list, Flash{Kind: kind, Message: message})
	b, err := s.m.codec.Marshal(list)
	if err != nil {
		return fmt.Errorf("sessionkit: encode flash: %w", err)
	}
	s.setLocked(flashKey, b)
	return nil
}

// Flashes returns the queued messages and removes them.
func (s *Session) Flashes() ([]Flash, error) {
	list, ok, err := Pop[[]Flash](s, flashKey)
	if !ok || err != nil {
		return nil, err
	}
	return list, nil
}

// UserID returns the user linked to the session, or "".
func (s *Session) UserID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rec == nil {
		return ""
	}
	return s.rec.UserID
}

// SetUserID links the session to a user, for the per-user index ("your
// devices", "sign out everywhere"). Call Renew first when this is a login.
func (s *Session) SetUserID(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.ensureRec()
	s.rec.UserID = userID
	s.userSet, s.modified = true, true
	return nil
}

// RememberMe makes the session persistent (its cookie gets a Max-Age and
// survives a browser restart, under the remember-me timeouts) or turns it
// back into a browser-session cookie.
func (s *Session) RememberMe(on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.ensureRec()
	if s.rec.Persistent == on && (s.stored || s.modified) {
		return nil
	}
	s.rec.Persistent = on
	if s.stored {
		s.rec.AbsoluteExpiry = s.rec.CreatedAt.Add(s.m.lifetimeFor(on))
	}
	s.persistSet, s.modified, s.sendCookie = true, true, true
	return nil
}

// Persistent reports whether remember-me is on.
func (s *Session) Persistent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec != nil && s.rec.Persistent
}

// ID returns the session's store key, or "" for a session not stored yet.
// It is a hash of the token, safe to show and to compare with
// SessionInfo.ID, except in Express mode, where it is express-session's
// session ID itself: half of a cookie, to be kept as secret as one.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stored {
		return ""
	}
	return s.stored0.ID
}

// Status reports what the request has done to the session so far.
func (s *Session) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.modified:
		return StatusModified
	case s.destroyed:
		return StatusDestroyed
	case !s.stored:
		return StatusNew
	}
	return StatusUnmodified
}

// Renew gives the session a new token, as every login and privilege change
// must (against session fixation). With keepData the values, user link and
// remember-me setting carry over; without, the session starts empty. The
// old token stops working at once, or after Config.RenewGrace. Renewal
// starts a new absolute lifetime: call it when the user authenticates.
func (s *Session) Renew(keepData bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.ensureRec()
	m := s.m
	now := m.now()
	var rec *Record
	if keepData {
		rec = s.rec.Clone()
		rec.Values = maps.Clone(s.values())
	} else {
		rec = &Record{Meta: s.rec.Meta}
	}
	wasModified := s.modified
	s.clearPending()
	if !s.stored {
		// A new session gets a fresh token when it is saved anyway.
		s.rec, s.shared, s.modified = rec, false, keepData && wasModified
		return nil
	}
	ctx := s.r.Context()
	rec.CreatedAt, rec.LastSeen = now, now
	rec.AbsoluteExpiry = now.Add(m.lifetimeFor(rec.Persistent))
	rec.ExpiresAt = m.expiresAt(now, rec.Persistent, rec.AbsoluteExpiry)
	if rec.Meta == nil {
		rec.Meta = m.cfg.Metadata(s.r)
	}
	token, err := m.newToken()
	if err != nil {
		return err
	}
	rec.ID = m.tokens.storeID(token)
	if m.client != nil {
		// A copied cookie carries its data, so the old one is always
		// revoked: RenewGrace applies to server stores only.
		if err := m.client.Revoke(ctx, s.storedRecord()); err != nil {
			return err
		}
		s.modified = true // sealed at commit
	} else {
		if err := m.store.Create(ctx, rec); err != nil {
			return err
		}
		if m.cfg.RenewGrace > 0 {
			err = m.store.Touch(ctx, s.stored0.ID, now, now.Add(m.cfg.RenewGrace))
		} else {
			err = m.store.Delete(ctx, s.stored0.ID)
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		s.token = token
		s.modified = false
	}
	s.rec, s.shared = rec, false
	s.stored0 = storedState{ID: rec.ID, UserID: rec.UserID, ExpiresAt: rec.ExpiresAt}
	s.sendCookie, s.reseal = true, true
	m.emit(ctx, Event{Kind: EventRenewed, ID: rec.ID, UserID: rec.UserID})
	return nil
}

// Destroy ends the session: it is deleted from the store at once (or
// revoked, for a client store) and the response expires the cookie. Values
// put after Destroy start a new session with a new token.
func (s *Session) Destroy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if s.stored {
		m := s.m
		ctx := s.r.Context()
		rec := s.storedRecord()
		var err error
		if m.client != nil {
			err = m.client.Revoke(ctx, rec)
		} else {
			err = m.store.Delete(ctx, rec.ID)
		}
		if err != nil {
			return err
		}
		m.emit(ctx, Event{Kind: EventDestroyed, ID: rec.ID, UserID: rec.UserID, Reason: "destroy"})
	}
	s.token, s.rec, s.stored, s.stored0, s.destroyed = "", nil, false, storedState{}, true
	s.clearPending()
	return nil
}

// RevokeOtherSessions ends every other session of the session's user ("sign
// out everywhere else") and returns how many it ended (-1 when a client
// store cannot count them). The store must implement UserIndex, or the
// client store must support per-user revocation.
func (s *Session) RevokeOtherSessions() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return 0, err
	}
	if s.rec == nil || s.rec.UserID == "" {
		return 0, errors.New("sessionkit: session has no user")
	}
	ctx := s.r.Context()
	if s.m.client != nil {
		ur, ok := s.m.client.(userRevoker)
		if !ok {
			return 0, ErrNotSupported
		}
		// Every cookie of the user created before now stops opening; this
		// session is sealed again as created now (its absolute deadline
		// stays), so it lives on.
		now := s.m.now()
		if err := ur.RevokeUser(ctx, s.rec.UserID, now); err != nil {
			return 0, err
		}
		s.ensureRec()
		s.rec.CreatedAt = now
		s.reseal, s.sendCookie = true, true
		return -1, nil
	}
	idx, ok := s.m.store.(UserIndex)
	if !ok {
		return 0, ErrNotSupported
	}
	var keep []string
	if s.stored {
		keep = append(keep, s.stored0.ID)
	}
	return idx.DeleteByUser(ctx, s.rec.UserID, keep...)
}

// userRevoker is the optional ClientStore capability behind
// RevokeOtherSessions: every cookie of the user whose session was created
// before a time stops opening.
type userRevoker interface {
	RevokeUser(ctx context.Context, userID string, before time.Time) error
}

// storedState is what the store holds for the session, whatever the request
// changed since it was loaded.
type storedState struct {
	ID        string
	UserID    string
	ExpiresAt time.Time
}

func (s *Session) storedRecord() *Record {
	return &Record{ID: s.stored0.ID, UserID: s.stored0.UserID, ExpiresAt: s.stored0.ExpiresAt}
}

func (s *Session) clearPending() {
	s.modified, s.set, s.del, s.cleared, s.userSet, s.persistSet = false, nil, nil, false, false, false
}
