// Package ginsession adapts sessionkit to the gin web framework.
//
// New returns a gin middleware that loads the request's session and saves
// it just before the first byte of the response, exactly as
// sessionkit.Manager.Middleware does for net/http; Get returns the session
// from a *gin.Context:
//
//	r := gin.New()
//	r.Use(ginsession.New(sessions))
//	r.POST("/login", func(c *gin.Context) {
//		s := ginsession.Get(c)
//		s.Renew(false)
//		s.SetUserID("42")
//		c.Redirect(http.StatusSeeOther, "/")
//	})
//
// gin keeps the status code of c.Status, c.JSON and the other helpers until
// the first byte is written (or until the handler chain returns), so a
// session may still be changed after c.Status. Once the response has
// started, a change returns sessionkit.ErrCommitted.
//
// The middleware also puts the session into c.Request's context, so
// Manager.Session(c.Request.Context()) returns the same session.
package ginsession

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
)

// New returns a gin middleware that gives every request handled after it a
// session managed by m. When the session cannot be loaded, m's
// ErrorHandler answers and the rest of the chain does not run.
func New(m *sessionkit.Manager) gin.HandlerFunc {
	return func(c *gin.Context) {
		g := c.Writer
		ran := false
		defer func() { c.Writer = g }()
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran = true
			c.Request = r
			c.Writer = &responseWriter{ResponseWriter: g, session: w}
			c.Set(sessionKey{}, m.Session(r.Context()))
			c.Next()
		})).ServeHTTP(g, c.Request)
		if !ran {
			c.Abort()
		}
	}
}

// sessionKey is the gin context key of the request's session.
type sessionKey struct{}

// Get returns the session of the request. Without the middleware it
// returns a Session whose methods all return sessionkit.ErrNoSession; it
// never returns nil.
func Get(c *gin.Context) *sessionkit.Session {
	v, _ := c.Get(sessionKey{})
	if s, ok := v.(*sessionkit.Session); ok {
		return s
	}
	return noSession()
}

// noSession is the session of a request that did not pass through the
// middleware.
var noSession = sync.OnceValue(func() *sessionkit.Session {
	m, err := sessionkit.New(sessionkit.Config{Store: memstore.New(memstore.Options{CleanupInterval: -1})})
	if err != nil {
		panic(err) // the zero Config with a store is always valid
	}
	return m.Session(context.Background())
})

// responseWriter is gin's writer with the session middleware's writer in
// front of every byte. gin records the status code and sends it with the
// first byte; the session is saved just before that.
type responseWriter struct {
	gin.ResponseWriter                     // gin's writer: status, size, headers
	session            http.ResponseWriter // the session middleware's writer around it
}

// WriteHeaderNow saves the session, then sends the status code and headers.
func (w *responseWriter) WriteHeaderNow() {
	if !w.Written() {
		w.session.WriteHeader(w.Status())
		w.ResponseWriter.WriteHeaderNow()
	}
}

// Write saves the session before the first byte, then writes b.
func (w *responseWriter) Write(b []byte) (int, error) {
	return w.session.Write(b)
}

// WriteString saves the session before the first byte, then writes s.
func (w *responseWriter) WriteString(s string) (int, error) {
	return io.WriteString(w.session, s)
}

// Flush saves the session, then flushes.
func (w *responseWriter) Flush() {
	_ = http.NewResponseController(w.session).Flush()
}

// Hijack saves the session, then hands over the connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.session).Hijack()
}

// Unwrap returns the session middleware's writer, for
// http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter {
	return w.session
}
