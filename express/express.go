// Package express shares sessions with express-session, the session
// middleware of Express (Node.js). Tokens is express-session's token scheme
// for sessionkit.Config.Tokens (its session IDs, its signed connect.sid
// cookie, the ID as store key); Session reads and writes sessions in its
// stored format, so that the Express-format stores of sessionkit
// (redisstore.NewExpress, mongostore.NewExpress) share live sessions with an
// Express application.
//
// express-session stores each session as the JSON of its Session object: a
// mandatory "cookie" object first, then the values the application put into
// req.session, as top-level keys:
//
//	{"cookie":{"originalMaxAge":3600000,"expires":"2026-11-26T20:16:05.857Z","httpOnly":true,"path":"/"},"user":"John Doe","counter":1}
//
// A Session keeps that object as it was written, key order and number
// spelling included (values are json.RawMessage, never decoded into
// float64), so that Go never changes or drops what JavaScript wrote. It
// adds one top-level key, MetaKey ("sessionkit"), holding what sessionkit
// records and express-session has no field for: the user ID, the creation
// and last-activity times, the absolute deadline, the remember-me flag and
// the device metadata. express-session keeps unknown keys, so the key
// survives Express's writes.
//
// Session values written by Go must be JSON (sessionkit.JSONCodec, the
// manager's default); they appear in JavaScript as ordinary properties of
// req.session.
package express

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/sessionkit/sessionkit"
)

// MetaKey is the top-level key of a stored session under which sessionkit
// keeps its own metadata. JavaScript sees it as req.session.sessionkit.
const MetaKey = "sessionkit"

// cookieKey is express-session's mandatory cookie object.
const cookieKey = "cookie"

// timeFormat is JavaScript's Date#toISOString: UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

// ErrNotJSON is returned when a value to store is not valid JSON: sharing
// sessions with Express needs the manager's default codec,
// sessionkit.JSONCodec.
var ErrNotJSON = errors.New("express: session value is not JSON (express-session needs sessionkit.JSONCodec)")

// ErrMalformed is wrapped by the errors of Decode: the stored data is not
// a session that express-session could load.
var ErrMalformed = errors.New("express: malformed session")

// ErrReservedKey is returned when Go code stores a value under "cookie" or
// MetaKey, the two top-level keys that belong to express-session and
// sessionkit.
var ErrReservedKey = errors.New(`express: "cookie" and "sessionkit" are reserved session keys`)

// Cookie mirrors the cookie option of the express-session application, so
// that the cookie object written with sessions that Go creates is the one
// Express would have written. Express reuses the stored object, not its own
// configuration, for the Set-Cookie headers of a session it loads, so the
// two must agree.
type Cookie struct {
	// MaxAge is the cookie's maxAge. Zero writes "originalMaxAge": null and
	// "expires": null, a browser-session cookie (express-session's default).
	MaxAge time.Duration
	// Secure, when not nil, writes "secure" with its value, as express-session
	// does when its cookie option sets secure (also to false).
	Secure *bool
	// HTTPOnly, when not nil, replaces the default "httpOnly": true.
	HTTPOnly *bool
	// Domain, when set, writes "domain".
	Domain string
	// Path is the cookie path (default "/").
	Path string
	// SameSite, when set, writes "sameSite" ("lax", "strict" or "none").
	SameSite string
	// Partitioned writes "partitioned": true.
	Partitioned bool
	// Priority, when set, writes "priority" ("low", "medium" or "high").
	Priority string
}

// Meta is what sessionkit keeps under MetaKey.
type Meta struct {
	// UserID is sessionkit.Record.UserID.
	UserID string `json:"userId,omitempty"`
	// CreatedAt is when the session was created or last renewed by Go.
	CreatedAt time.Time `json:"createdAt"`
	// LastSeen is the last activity Go saved. Activity in Express is not
	// recorded here; Session.Record derives it from the store's expiry.
	LastSeen time.Time `json:"lastSeen"`
	// AbsoluteExpiry is the hard deadline that activity cannot extend.
	AbsoluteExpiry time.Time `json:"absoluteExpiry"`
	// Persistent is the remember-me flag.
	Persistent bool `json:"persistent,omitempty"`
	// Meta is sessionkit.Record.Meta (client IP, user agent, …).
	Meta map[string]string `json:"meta,omitempty"`
}

// Session is one stored express-session session. The zero value is not
// usable; create one with Decode or New.
type Session struct {
	obj    object // top level, in stored order
	cookie object // the cookie object, in stored order
	meta   *Meta  // nil when the session has no MetaKey (created by Express)
}

// Decode parses a session as express-session stores it. It fails when
// data is not a JSON object or has no "cookie" object, which express-session
// itself cannot load.
func Decode(data []byte) (*Session, error) {
	obj, err := parseObject(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	raw, ok := obj.get(cookieKey)
	if !ok {
		return nil, fmt.Errorf(`%w: no "cookie" object`, ErrMalformed)
	}
	cookie, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: cookie: %w", ErrMalformed, err)
	}
	s := &Session{obj: obj, cookie: cookie}
	if raw, ok := obj.get(MetaKey); ok && !bytes.Equal(raw, []byte("null")) {
		var m Meta
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, MetaKey, err)
		}
		s.meta = &m
	}
	return s, nil
}

// New returns the session that express-session would create now with
// cookie configuration c, holding the record's values and metadata. The
// values are written in sorted key order after the cookie object.
func New(rec *sessionkit.Record, c Cookie, now time.Time) (*Session, error) {
	s := &Session{cookie: newCookie(c, now)}
	s.obj.set(cookieKey, s.cookie.marshal())
	for _, k := range slices.Sorted(maps.Keys(rec.Values)) {
		if err := s.Set(k, rec.Values[k]); err != nil {
			return nil, err
		}
	}
	s.meta = &Meta{
		UserID: rec.UserID, CreatedAt: rec.CreatedAt, LastSeen: rec.LastSeen,
		AbsoluteExpiry: rec.AbsoluteExpiry, Persistent: rec.Persistent, Meta: rec.Meta,
	}
	return s, nil
}

// newCookie builds the cookie object as Cookie#toJSON orders it:
// originalMaxAge, partitioned, priority, expires, secure, httpOnly, domain,
// path, sameSite.
func newCookie(c Cookie, now time.Time) object {
	var o object
	if c.MaxAge > 0 {
		o.set("originalMaxAge", json.RawMessage(strconv.FormatInt(c.MaxAge.Milliseconds(), 10)))
	} else {
		o.set("originalMaxAge", json.RawMessage("null"))
	}
	if c.Partitioned {
		o.set("partitioned", json.RawMessage("true"))
	}
	if c.Priority != "" {
		o.set("priority", jsonString(c.Priority))
	}
	if c.MaxAge > 0 {
		o.set("expires", jsonString(now.Add(c.MaxAge).UTC().Format(timeFormat)))
	} else {
		o.set("expires", json.RawMessage("null"))
	}
	if c.Secure != nil {
		o.set("secure", json.RawMessage(strconv.FormatBool(*c.Secure)))
	}
	httpOnly := true
	if c.HTTPOnly != nil {
		httpOnly = *c.HTTPOnly
	}
	o.set("httpOnly", json.RawMessage(strconv.FormatBool(httpOnly)))
	if c.Domain != "" {
		o.set("domain", jsonString(c.Domain))
	}
	path := c.Path
	if path == "" {
		path = "/"
	}
	o.set("path", jsonString(path))
	if c.SameSite != "" {
		o.set("sameSite", jsonString(c.SameSite))
	}
	return o
}

// Marshal returns the session as express-session stores it.
func (s *Session) Marshal() ([]byte, error) {
	s.obj.set(cookieKey, s.cookie.marshal())
	if s.meta != nil {
		m := *s.meta
		m.CreatedAt, m.LastSeen, m.AbsoluteExpiry = m.CreatedAt.UTC(), m.LastSeen.UTC(), m.AbsoluteExpiry.UTC()
		b, err := json.Marshal(&m)
		if err != nil {
			return nil, fmt.Errorf("express: encode %s: %w", MetaKey, err)
		}
		s.obj.set(MetaKey, b)
	}
	return s.obj.marshal(), nil
}

// Expires returns cookie.expires, and false when it is null or absent.
func (s *Session) Expires() (time.Time, bool) {
	raw, ok := s.cookie.get("expires")
	if !ok {
		return time.Time{}, false
	}
	var v string
	if json.Unmarshal(raw, &v) != nil || v == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// SetExpires sets cookie.expires (JavaScript's Date#toISOString format).
func (s *Session) SetExpires(t time.Time) {
	s.cookie.set("expires", jsonString(t.UTC().Format(timeFormat)))
}

// OriginalMaxAge returns cookie.originalMaxAge, and false when it is null
// or absent (a browser-session cookie).
func (s *Session) OriginalMaxAge() (time.Duration, bool) {
	raw, ok := s.cookie.get("originalMaxAge")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return time.Duration(f * float64(time.Millisecond)), true
}

// ResetMaxAge does what express-session does to a session before it saves
// or touches it: when the cookie has an originalMaxAge, cookie.expires
// becomes now + originalMaxAge.
func (s *Session) ResetMaxAge(now time.Time) {
	if d, ok := s.OriginalMaxAge(); ok {
		s.SetExpires(now.Add(d))
	}
}

// TTL returns how long the store keeps the session from now, as
// connect-redis and connect-mongo compute it: until cookie.expires when it
// is set (connect-redis rounds up to whole seconds), def otherwise. The
// result is zero or negative when cookie.expires has passed.
func (s *Session) TTL(now time.Time, def time.Duration) time.Duration {
	if exp, ok := s.Expires(); ok {
		return exp.Sub(now)
	}
	return def
}

// Window returns the time a touch by Express gives the session:
// originalMaxAge when it is set, def otherwise. Together with the time the
// store still keeps the session, it tells when the session was last used.
func (s *Session) Window(def time.Duration) time.Duration {
	if d, ok := s.OriginalMaxAge(); ok && d > 0 {
		return d
	}
	return def
}

// Meta returns the session's sessionkit metadata, or nil for a session that
// only Express has written so far.
func (s *Session) Meta() *Meta { return s.meta }

// Values returns the session's values: every top-level key except "cookie"
// and MetaKey, as the raw JSON JavaScript wrote.
func (s *Session) Values() map[string][]byte {
	v := make(map[string][]byte, len(s.obj.keys))
	for _, k := range s.obj.keys {
		if k == cookieKey || k == MetaKey {
			continue
		}
		v[k] = append([]byte(nil), s.obj.vals[k]...)
	}
	return v
}

// Set sets the value of key to the JSON value b, keeping the key's place if
// it exists and appending it otherwise, as JavaScript does.
func (s *Session) Set(key string, b []byte) error {
	if key == cookieKey || key == MetaKey {
		return ErrReservedKey
	}
	b = bytes.TrimSpace(b)
	if !json.Valid(b) {
		return fmt.Errorf("%w: key %q", ErrNotJSON, key)
	}
	s.obj.set(key, append(json.RawMessage(nil), b...))
	return nil
}

// Delete removes key. The reserved keys cannot be removed.
func (s *Session) Delete(key string) {
	if key == cookieKey || key == MetaKey {
		return
	}
	s.obj.del(key)
}

// Clear removes every value, keeping the cookie and the metadata.
func (s *Session) Clear() {
	for _, k := range slices.Clone(s.obj.keys) {
		s.Delete(k)
	}
}

// Record returns the session as a sessionkit record. remaining is how long
// the store still keeps the session (a Redis PTTL, or a MongoDB expires
// field minus now; negative when it has no expiry) and def the store's
// default time-to-live.
//
// Sessions that Express created carry no metadata, and Express's touches
// refresh only the store's expiry, not the metadata. So the last activity
// is the later of the recorded one and the one the remaining time implies
// (now − (Window − remaining)): a session the user keeps using in Express is
// not idle for Go. A session without metadata is taken as created now,
// with an absolute deadline one Window away (at least its remaining time),
// so that the manager's own lifetime limit still applies.
func (s *Session) Record(id string, now time.Time, remaining, def time.Duration) *sessionkit.Record {
	window := s.Window(def)
	if remaining < 0 {
		remaining = window // no expiry in the store
	}
	active := now.Add(-(window - remaining))
	if active.After(now) {
		active = now
	}
	rec := &sessionkit.Record{ID: id, Values: s.Values()}
	if m := s.meta; m != nil {
		rec.UserID, rec.Persistent = m.UserID, m.Persistent
		rec.CreatedAt, rec.AbsoluteExpiry, rec.LastSeen = m.CreatedAt, m.AbsoluteExpiry, m.LastSeen
		if len(m.Meta) > 0 {
			rec.Meta = m.Meta
		}
	}
	if rec.CreatedAt.IsZero() {
		rec.CreatedAt = now
	}
	if rec.AbsoluteExpiry.IsZero() {
		rec.AbsoluteExpiry = now.Add(max(window, remaining))
	}
	if active.After(rec.LastSeen) {
		rec.LastSeen = active
	}
	rec.ExpiresAt = now.Add(remaining)
	if rec.AbsoluteExpiry.Before(rec.ExpiresAt) {
		rec.ExpiresAt = rec.AbsoluteExpiry
	}
	return rec
}

// Apply applies a sessionkit delta to the session as a save by Go: the
// values it names change, the metadata is updated (and created, from rec,
// for a session Express created) and cookie.expires moves as
// express-session moves it on every save. rec is the session as Record
// returned it.
func (s *Session) Apply(d sessionkit.Delta, rec *sessionkit.Record, now time.Time) error {
	if d.Clear {
		s.Clear()
	}
	for _, k := range slices.Sorted(maps.Keys(d.Set)) { // new keys in a stable order
		if err := s.Set(k, d.Set[k]); err != nil {
			return err
		}
	}
	for _, k := range d.Del {
		s.Delete(k)
	}
	if s.meta == nil {
		s.meta = &Meta{CreatedAt: rec.CreatedAt, AbsoluteExpiry: rec.AbsoluteExpiry, Meta: rec.Meta}
	}
	if d.UserID != nil {
		s.meta.UserID = *d.UserID
	}
	if d.Persistent != nil {
		s.meta.Persistent = *d.Persistent
	}
	if !d.AbsoluteExpiry.IsZero() {
		s.meta.AbsoluteExpiry = d.AbsoluteExpiry
	}
	s.meta.LastSeen = d.LastSeen
	s.ResetMaxAge(now)
	return nil
}

// object is a JSON object that keeps its keys in order and its values as
// they were written.
type object struct {
	keys []string
	vals map[string]json.RawMessage
}

// parseObject parses a JSON object. A repeated key keeps its first place
// and its last value, as JSON.parse does.
func parseObject(data []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return object{}, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return object{}, errors.New("not a JSON object")
	}
	var o object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return object{}, err
		}
		key, ok := tok.(string)
		if !ok {
			return object{}, errors.New("malformed object key")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return object{}, err
		}
		o.set(key, raw)
	}
	if _, err := dec.Token(); err != nil {
		return object{}, err
	}
	if _, err := dec.Token(); err == nil {
		return object{}, errors.New("data after the JSON object")
	}
	return o, nil
}

func (o *object) get(k string) (json.RawMessage, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *object) set(k string, v json.RawMessage) {
	if o.vals == nil {
		o.vals = make(map[string]json.RawMessage)
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *object) del(k string) {
	if _, ok := o.vals[k]; !ok {
		return
	}
	delete(o.vals, k)
	o.keys = slices.DeleteFunc(o.keys, func(x string) bool { return x == k })
}

// marshal writes the object compactly, as JSON.stringify does.
func (o *object) marshal() []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(jsonString(k))
		b.WriteByte(':')
		if err := json.Compact(&b, o.vals[k]); err != nil {
			b.Write(o.vals[k]) // validated on the way in; keep it as it is
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// jsonString encodes s as a JSON string without HTML escaping, as
// JSON.stringify does.
func jsonString(s string) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
