// Package echosession adapts sessionkit to the echo web framework (v4).
//
// New returns an echo middleware that loads the request's session and
// saves it just before the first byte of the response, exactly as
// sessionkit.Manager.Middleware does for net/http; Get returns the session
// from an echo.Context:
//
//	e := echo.New()
//	e.Use(echosession.New(sessions))
//	e.POST("/login", func(c echo.Context) error {
//		s := echosession.Get(c)
//		if err := s.Renew(false); err != nil {
//			return err
//		}
//		s.SetUserID("42")
//		return c.Redirect(http.StatusSeeOther, "/")
//	})
//
// echo sends the status code and headers as soon as a handler calls
// c.NoContent, c.Redirect or c.Response().WriteHeader, so that is when the
// session is saved; a change after it returns sessionkit.ErrCommitted. An
// error returned by a handler reaches echo's HTTP error handler after the
// middleware has saved the session: the error response carries the
// session cookie, and a change made by the error handler itself returns
// ErrCommitted.
//
// The middleware also puts the session into the request's context, so
// Manager.Session(c.Request().Context()) returns the same session.
package echosession

import (
	"context"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
)

// New returns an echo middleware that gives every request handled after it
// a session managed by m. When the session cannot be loaded, m's
// ErrorHandler answers and the handler does not run.
func New(m *sessionkit.Manager) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			outer := c.Response()
			var err error
			m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Everything the handler writes goes through the session
				// middleware's writer w, then through echo's own response,
				// which keeps the status, size and Before hooks that
				// middleware installed earlier rely on.
				inner := echo.NewResponse(w, c.Echo())
				inner.Status = outer.Status
				c.SetRequest(r)
				c.SetResponse(inner)
				defer c.SetResponse(outer)
				c.Set(sessionKey, m.Session(r.Context()))
				err = next(c)
			})).ServeHTTP(outer, c.Request())
			return err
		}
	}
}

// sessionKey is the echo context key of the request's session.
const sessionKey = "github.com/sessionkit/sessionkit/echosession.Session"

// Get returns the session of the request. Without the middleware it
// returns a Session whose methods all return sessionkit.ErrNoSession; it
// never returns nil.
func Get(c echo.Context) *sessionkit.Session {
	if s, ok := c.Get(sessionKey).(*sessionkit.Session); ok {
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
