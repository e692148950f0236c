package sessionkit

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// Middleware loads the request's session, makes it available through
// Manager.Session, and saves it just before the response starts. It does
// not buffer the response body.
//
// A request without a session cookie costs no store call unless the handler
// stores something. A request with one loads the session first; when the
// store fails, the ErrorHandler answers instead of the handler. A request
// canceled during a load or save is logged at Debug and gets no answer.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rq := &inflight{s: Session{m: m, r: r, status: StatusNew, rec: &emptyRecord}}
		s := &rq.s
		if err := s.load(r.Context()); err != nil {
			m.handleError(w, r, err)
			return
		}
		rq.ctx = sessionContext{Context: r.Context(), key: m.key, s: s}
		s.r = r.WithContext(&rq.ctx)
		rq.w.ResponseWriter, rq.w.s = w, s
		next.ServeHTTP(&rq.w, s.r)
		rq.w.commit()
	})
}

// inflight is what the middleware allocates for a request, in one piece.
type inflight struct {
	s   Session
	ctx sessionContext
	w   responseWriter
}

// handleError answers a request whose session could not be loaded or saved:
// 503 when the store is unavailable or timed out, 500 otherwise, or nothing
// at all when the request was canceled (the client has gone; that is not an
// outage).
func (m *Manager) handleError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(r.Context().Err(), context.Canceled) {
		m.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "sessionkit: request canceled during a session load or save",
			slog.String("error", err.Error()), slog.String("method", r.Method))
		return
	}
	if m.cfg.ErrorHandler != nil {
		m.cfg.ErrorHandler(w, r, err)
		return
	}
	code := http.StatusInternalServerError
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		code = http.StatusServiceUnavailable
	}
	m.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "sessionkit: session store failed",
		slog.String("error", err.Error()), slog.String("method", r.Method), slog.Int("status", code))
	http.Error(w, http.StatusText(code), code)
}

// varyCookie is the Vary header value of responses that depend on the
// session cookie. Its length equals its capacity, so an append copies it.
var varyCookie = []string{"Cookie"}

// responseWriter saves the session just before the first byte of the
// response, without buffering it.
type responseWriter struct {
	http.ResponseWriter
	s *Session

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
		w.s.m.handleError(w.ResponseWriter, w.s.r, err)
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
