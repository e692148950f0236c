package sessionkit

import "errors"

// ErrNoSession is returned by every Session method when the request did not
// pass through the Manager's middleware.
var ErrNoSession = errors.New("sessionkit: no session in context (is the middleware installed?)")

// ErrCommitted is returned when a session is changed after the response
// headers were written, rather than losing the change silently.
var ErrCommitted = errors.New("sessionkit: session changed after the response was committed")

// ErrRenewed is returned when a request that carried the old token of a
// session renewed with Config.RenewGrace tries to change it: that token may
// read the session until the grace ends, never write it.
var ErrRenewed = errors.New("sessionkit: session was renewed; its old token is read-only")

// ErrNotSupported is returned when the store lacks an optional capability,
// such as the per-user index.
var ErrNotSupported = errors.New("sessionkit: not supported by this store")

// ErrReservedKey is returned when a value is written under a key that
// sessionkit reserves (keys beginning with "sessionkit.").
var ErrReservedKey = errors.New("sessionkit: key is reserved")

// ErrSaveFailed is returned by the response writer's Write after the session
// could not be saved and the ErrorHandler answered instead.
var ErrSaveFailed = errors.New("sessionkit: session could not be saved; the error handler answered")

// ErrNotFound is returned by Store.Update and Store.Touch when no live record
// has the given ID. Store.Load does not return it: a missing record is
// (nil, nil).
var ErrNotFound = errors.New("sessionkit: session not found")

// ErrExists is returned by Store.Create when the ID is taken: with 256-bit
// tokens, a bug or an attack.
var ErrExists = errors.New("sessionkit: session already exists")

// ErrTooManySessions is returned by Store.LinkUser of a SessionLimiter,
// and so by Session.SetUserID, when the user already has as many live
// sessions as Config.MaxSessionsPerUser allows and the policy is RejectNew.
var ErrTooManySessions = errors.New("sessionkit: the user has too many sessions")

// ErrUnavailable wraps store errors that mean the backend could not be
// reached. The middleware answers them with 503 instead of 500.
var ErrUnavailable = errors.New("sessionkit: store unavailable")
