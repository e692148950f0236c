package sessionkit

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// Middleware loads the request's session, makes it available through
// Manager.Session, and saves it just before the response starts. It does
// not buffer the response body.
//
// A request without a session cookie costs no store call unless the handler
// stores something. A request with one loads the session first; when the
// store fails, the ErrorHandler answers instead of the handler.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.load(r.Context(), r)
		if err != nil {
			m.handleError(w, r, err)
			return
		}
		s.ctx = sessionContext{Context: r.Context(), key: m.key, s: s}
		r = r.WithContext(&s.ctx) // allocated with the session
		s.r = r
		sw := &s.w // allocated with the session
		sw.ResponseWriter, sw.s, sw.m, sw.r = w, s, m, r
		next.ServeHTTP(sw, r)
		sw.commit()
	})
}

// Session returns the session of the request whose context is ctx. Without
// the middleware it returns a Session whose methods all return ErrNoSession;
// it never returns nil and never panics.
func (m *Manager) Session(ctx context.Context) *Session {
	if s, ok := ctx.Value(m.key).(*Session); ok {
		return s
	}
	return &Session{m: m, err: ErrNoSession}
}

// load reads the session named by the request's cookie. An absent, malformed,
// forged, unknown or expired cookie gives a new, empty session: a token the
// server did not issue is never adopted.
func (m *Manager) load(ctx context.Context, r *http.Request) (*Session, error) {
	s := &Session{m: m, r: r}
	value, ok := cookieValue(r.Header, m.cookie.Name)
	if !ok {
		return s, nil
	}
	s.hadCookie = true
	var rec *Record
	var token string
	var err error
	reseal := false
	if rs, ok := m.client.(clientResealer); ok {
		rec, reseal, err = rs.OpenReseal(ctx, value)
	} else if m.client != nil {
		rec, err = m.client.Open(ctx, value)
	} else if token = m.tokens.decode(value); token != "" {
		rec, err = m.store.Load(ctx, m.tokens.storeID(token))
	} else {
		m.log.LogAttrs(ctx, slog.LevelDebug, "sessionkit: malformed or forged session cookie ignored")
	}
	if err != nil || rec == nil {
		return s, err
	}
	if reason := m.expiry(rec, m.now()); reason != "" {
		if m.client == nil {
			if err := m.store.Delete(ctx, rec.ID); err != nil {
				return nil, err
			}
		}
		m.emit(ctx, Event{Kind: EventExpired, ID: rec.ID, UserID: rec.UserID, Reason: reason})
		return s, nil
	}
	s.rec, s.shared, s.token, s.stored = rec, true, token, true
	s.stored0 = storedState{ID: rec.ID, UserID: rec.UserID, ExpiresAt: rec.ExpiresAt}
	s.reseal = reseal // opened with an old key: seal again with the current one
	return s, nil
}

// sessionContext carries a request's session: a context.WithValue node that
// is allocated as part of the Session.
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

// clientResealer is the optional ClientStore capability that reports a
// value opened with a retired key, so that it is sealed again with the
// current key on this response.
type clientResealer interface {
	OpenReseal(ctx context.Context, value string) (rec *Record, reseal bool, err error)
}

// expiry returns why rec has ended by the manager's own clock, whatever the
// store's TTL did, or "" while it is live.
func (m *Manager) expiry(rec *Record, now time.Time) string {
	switch {
	case !now.Before(rec.AbsoluteExpiry),
		!now.Before(rec.CreatedAt.Add(m.lifetimeFor(rec.Persistent))):
		return "absolute timeout"
	case !now.Before(rec.ExpiresAt),
		!now.Before(rec.LastSeen.Add(m.idleFor(rec.Persistent))):
		return "idle timeout"
	}
	return ""
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
	m := s.m
	ctx := s.r.Context()
	now := m.now()
	if !s.stored {
		if !s.modified {
			if s.hadCookie {
				// Destroyed, or a cookie that named no live session
				// (unknown, forged or expired): clear it from the browser.
				return m.expiredCookie(), nil
			}
			return nil, nil
		}
		return s.create(ctx, now)
	}
	rec := s.rec
	exp := m.expiresAt(now, rec.Persistent, rec.AbsoluteExpiry)
	moved := !exp.Equal(s.stored0.ExpiresAt)
	if m.client != nil {
		if !s.modified && !s.reseal && now.Sub(rec.LastSeen) < m.cfg.TouchInterval {
			return nil, nil
		}
		s.ensureRec()
		s.rec.LastSeen, s.rec.ExpiresAt = now, exp
		return s.seal(ctx, now)
	}
	var err error
	switch {
	case s.modified:
		d := Delta{Clear: s.cleared, Set: s.set, LastSeen: now, ExpiresAt: exp}
		for k := range s.del {
			d.Del = append(d.Del, k)
		}
		if s.userSet {
			d.UserID = &rec.UserID
		}
		if s.persistSet {
			d.Persistent = &rec.Persistent
			d.AbsoluteExpiry = rec.AbsoluteExpiry
		}
		err = m.store.Update(ctx, rec.ID, d)
	case now.Sub(rec.LastSeen) >= m.cfg.TouchInterval:
		err = m.store.Touch(ctx, rec.ID, now, exp)
	default:
		moved = false
	}
	if errors.Is(err, ErrNotFound) {
		// A parallel request ended the session: never bring it back.
		m.log.LogAttrs(ctx, slog.LevelInfo, "sessionkit: session ended by a parallel request; changes dropped")
		return m.expiredCookie(), nil
	}
	if err != nil {
		return nil, err
	}
	if s.sendCookie || (rec.Persistent && moved) {
		return m.cookieFor(m.tokens.encode(s.token), rec.Persistent, exp, now), nil
	}
	return nil, nil
}

// create stores a new session under a fresh token.
func (s *Session) create(ctx context.Context, now time.Time) (*http.Cookie, error) {
	m := s.m
	token, err := m.newToken()
	if err != nil {
		return nil, err
	}
	s.ensureRec()
	rec := s.rec
	rec.Values = s.values()
	rec.ID = m.tokens.storeID(token)
	rec.CreatedAt, rec.LastSeen = now, now
	rec.AbsoluteExpiry = now.Add(m.lifetimeFor(rec.Persistent))
	rec.ExpiresAt = m.expiresAt(now, rec.Persistent, rec.AbsoluteExpiry)
	if rec.Meta == nil {
		rec.Meta = m.cfg.Metadata(s.r)
	}
	if m.client != nil {
		c, err := s.seal(ctx, now)
		if err == nil {
			m.emit(ctx, Event{Kind: EventCreated, ID: rec.ID, UserID: rec.UserID})
		}
		return c, err
	}
	if err := m.store.Create(ctx, rec); err != nil {
		return nil, err
	}
	s.token, s.stored = token, true
	s.stored0 = storedState{ID: rec.ID, UserID: rec.UserID, ExpiresAt: rec.ExpiresAt}
	m.emit(ctx, Event{Kind: EventCreated, ID: rec.ID, UserID: rec.UserID})
	return m.cookieFor(m.tokens.encode(token), rec.Persistent, rec.ExpiresAt, now), nil
}

// seal puts the session into a client-store cookie.
func (s *Session) seal(ctx context.Context, now time.Time) (*http.Cookie, error) {
	s.ensureRec()
	s.rec.Values = s.values()
	v, err := s.m.client.Seal(ctx, s.rec)
	if err != nil {
		return nil, err
	}
	s.stored = true
	return s.m.cookieFor(v, s.rec.Persistent, s.rec.ExpiresAt, now), nil
}

// cookieFor returns the session cookie carrying value. Persistent sessions
// get a Max-Age that matches their expiry; others are browser-session
// cookies.
func (m *Manager) cookieFor(value string, persistent bool, expiresAt, now time.Time) *http.Cookie {
	c := m.baseCookie()
	c.Value = value
	if persistent {
		c.MaxAge = int(math.Ceil(expiresAt.Sub(now).Seconds()))
		c.Expires = expiresAt.UTC()
		if c.MaxAge <= 0 {
			return m.expiredCookie()
		}
	}
	return c
}

// expiredCookie tells the browser to delete the session cookie.
func (m *Manager) expiredCookie() *http.Cookie {
	c := m.baseCookie()
	c.MaxAge = -1
	c.Expires = time.Unix(1, 0)
	return c
}

func (m *Manager) baseCookie() *http.Cookie {
	return &http.Cookie{
		Name: m.cookie.Name, Path: m.cookie.Path, Domain: m.cookie.Domain,
		Secure: !m.cookie.Insecure, HttpOnly: true, SameSite: m.cookie.SameSite,
		Partitioned: m.cookie.Partitioned,
	}
}

func (m *Manager) emit(ctx context.Context, e Event) {
	if m.cfg.OnEvent != nil {
		m.cfg.OnEvent(ctx, e)
	}
}

// handleError answers a request whose session could not be loaded or saved.
func (m *Manager) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(w, r, err)
		return
	}
	code := http.StatusInternalServerError
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusServiceUnavailable
	}
	m.log.LogAttrs(r.Context(), slog.LevelError, "sessionkit: session store failed",
		slog.String("error", err.Error()), slog.String("method", r.Method), slog.Int("status", code))
	http.Error(w, http.StatusText(code), code)
}

// varyCookie is the Vary header value of responses that depend on the
// session cookie. Its length equals its capacity, so an append copies it.
var varyCookie = []string{"Cookie"}

// cookieValue returns the value of the first cookie named name in the
// request's Cookie headers, as http.Request.Cookie does, without parsing the
// other cookies.
func cookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			part = textproto.TrimString(part)
			n, v, ok := strings.Cut(part, "=")
			if !ok || n != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

// ErrSaveFailed is returned by the response writer's Write after the session
// could not be saved: the ErrorHandler has answered the request instead.
var ErrSaveFailed = errors.New("sessionkit: session could not be saved; the error handler answered")

// responseWriter saves the session just before the first byte of the
// response, without buffering it.
type responseWriter struct {
	http.ResponseWriter
	s *Session
	m *Manager
	r *http.Request

	mu     sync.Mutex
	done   bool
	failed bool
}

// commit saves the session once and adds its headers. It reports whether the
// response may proceed.
func (w *responseWriter) commit() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return !w.failed
	}
	w.done = true
	c, err := w.s.save()
	if err == nil && c == nil && !w.s.hadCookie {
		// Nothing to add. Not asking for the header map at all spares
		// net/http a copy of it when the response starts.
		return true
	}
	h := w.ResponseWriter.Header()
	if w.s.hadCookie || c != nil {
		if len(h["Vary"]) == 0 {
			h["Vary"] = varyCookie // appending to it later copies it
		} else {
			h.Add("Vary", "Cookie")
		}
	}
	if err != nil {
		w.failed = true
		h.Del("Set-Cookie")
		w.m.handleError(w.ResponseWriter, w.r, err)
		return false
	}
	if c != nil {
		h.Add("Set-Cookie", c.String())
		h.Set("Cache-Control", "no-store")
	}
	return true
}

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: not the response yet
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.commit() {
		return 0, ErrSaveFailed
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps io.Copy (and http.ServeContent) on the fast path.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.commit() {
		return 0, ErrSaveFailed
	}
	return io.Copy(w.ResponseWriter, r)
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError saves the session, then flushes; http.ResponseController calls
// it.
func (w *responseWriter) FlushError() error {
	if !w.commit() {
		return ErrSaveFailed
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack saves the session, then hands over the connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, ErrSaveFailed
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer (for
// deadlines and full-duplex).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
