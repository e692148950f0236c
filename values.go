package sessionkit

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/internal/reserved"
)

// reservedPrefix starts the keys that sessionkit itself uses: only the
// packages of this module write them, through package reserved.
const reservedPrefix = "sessionkit."

func init() {
	reserved.Put = func(s any, key string, v func(string, time.Time) (any, error)) error {
		return s.(*Session).update(key, func(_ []byte, userID string, now time.Time) (any, error) { return v(userID, now) })
	}
	reserved.Clock = func(s any) time.Time { return s.(*Session).m.cfg.Now() }
}

// update stores under key the value that f returns, given the key's encoded
// value (nil if none), the session's user and now, in one change.
func (s *Session) update(key string, f func(old []byte, userID string, now time.Time) (any, error)) error {
	return s.change(func() error {
		old, _ := s.lookup(key)
		v, err := f(old, s.rec.UserID, s.m.cfg.Now())
		if err != nil {
			return err
		}
		b, err := s.m.cfg.Codec.Marshal(v)
		if err != nil {
			return fmt.Errorf("sessionkit: encode %q: %w", key, err)
		}
		s.setLocked(key, b)
		return nil
	})
}

const flashKey = reservedPrefix + "flash"

// lookup returns the encoded value of key, pending changes included.
// The caller holds s.mu.
func (s *Session) lookup(key string) ([]byte, bool) {
	if d := s.delta; d != nil {
		if b, ok := d.Set[key]; ok {
			return b, true
		}
		if d.Clear || slices.Contains(d.Del, key) {
			return nil, false
		}
	}
	b, ok := s.rec.Values[key]
	return b, ok
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
	if err := s.m.cfg.Codec.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("sessionkit: decode %q: %w", key, err)
	}
	return nil
}

// Get returns the value stored under key, decoded into a T. It reports
// whether the key was present; a value that cannot be decoded into T is an
// error.
func Get[T any](s *Session, key string) (T, bool, error) {
	var v T
	b, ok, err := s.raw(key)
	if !ok || err != nil {
		return v, ok, err
	}
	// A string, the most common read, does not go through the Codec
	// interface when the codec decodes it directly: passed to
	// Codec.Unmarshal, v would have to live on the heap.
	if p, isString := any(&v).(*string); isString {
		if str, ok := decodeString(s.m.cfg.Codec, b); ok {
			*p = str
			return v, true, nil
		}
	}
	dst := new(T)
	if err := s.decode(key, b, dst); err != nil {
		return v, true, err
	}
	return *dst, true, nil
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
	b, err := s.m.cfg.Codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("sessionkit: encode %q: %w", key, err)
	}
	return s.change(func() error { s.setLocked(key, b); return nil })
}

// setLocked records key=b as a pending change. The caller holds s.mu.
func (s *Session) setLocked(key string, b []byte) {
	d := s.pending()
	if d.Set == nil {
		d.Set = make(map[string][]byte)
	}
	d.Set[key] = b
	if i := slices.Index(d.Del, key); i >= 0 {
		d.Del = slices.Delete(d.Del, i, i+1)
	}
	s.status = StatusModified
}

// Delete removes key. Deleting a missing key is not an error.
func (s *Session) Delete(key string) error {
	return s.change(func() error {
		if _, ok := s.lookup(key); !ok {
			return nil
		}
		d := s.pending()
		delete(d.Set, key)
		if !d.Clear {
			d.Del = append(d.Del, key)
		}
		s.status = StatusModified
		return nil
	})
}

// Clear removes every value. The session itself, its user link and its
// remember-me setting stay.
func (s *Session) Clear() error {
	return s.change(func() error {
		d := s.pending()
		d.Set, d.Del, d.Clear = nil, nil, true
		s.status = StatusModified
		return nil
	})
}

// Keys returns the session's keys in sorted order, without reserved ones.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.delta.applied(s.rec.Values) {
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
	return s.update(flashKey, func(old []byte, _ string, _ time.Time) (any, error) {
		var list []Flash
		if old != nil {
			_ = s.m.cfg.Codec.Unmarshal(old, &list) // a broken list is replaced
		}
		return append(list, Flash{Kind: kind, Message: message}), nil
	})
}

// Flashes returns the queued messages and removes them.
func (s *Session) Flashes() ([]Flash, error) {
	list, ok, err := Pop[[]Flash](s, flashKey)
	if !ok || err != nil {
		return nil, err
	}
	return list, nil
}
