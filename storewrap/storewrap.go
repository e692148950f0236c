// Package storewrap wraps a sessionkit.Store so that an Observer sees every
// call, for metrics and tracing. The wrapper keeps the optional capabilities
// of the store it wraps, and only those: it implements sessionkit.UserIndex,
// sessionkit.Iterator, sessionkit.SessionLimiter, sessionkit.Remover and
// io.Closer exactly when the wrapped store does, so the manager's feature
// checks give the same answers as without it (a Remover kept makes the
// manager's lifecycle events exact across instances).
//
// Modules sessionprom and sessionotel build on it; an application rarely
// calls it directly.
package storewrap

//go:generate go run gen.go

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/sessionkit/sessionkit"
)

// Op names a store call.
type Op uint8

// The store calls an Observer sees. Close is passed through unobserved.
const (
	OpLoad         Op = iota // Store.Load
	OpCreate                 // Store.Create
	OpUpdate                 // Store.Update
	OpTouch                  // Store.Touch
	OpDelete                 // Store.Delete
	OpListByUser             // UserIndex.ListByUser
	OpDeleteByUser           // UserIndex.DeleteByUser
	OpIterate                // Iterator.Iterate
	OpLinkUser               // SessionLimiter.LinkUser
	OpRemove                 // Remover.Remove

	// NumOps is the number of Op values, for tables indexed by Op.
	NumOps = iota
)

var opNames = [NumOps]string{"load", "create", "update", "touch", "delete", "list_by_user", "delete_by_user", "iterate", "link_user", "remove"}

// String returns the op's name in snake case, such as "list_by_user".
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "unknown"
}

// Outcome classifies how a store call ended.
type Outcome uint8

// The outcomes of a store call.
const (
	OutcomeOK              Outcome = iota // success
	OutcomeNotFound                       // sessionkit.ErrNotFound, or Load or Remove found no record
	OutcomeExists                         // sessionkit.ErrExists
	OutcomeTooManySessions                // sessionkit.ErrTooManySessions: LinkUser refused at the limit
	OutcomeUnavailable                    // an error wrapping sessionkit.ErrUnavailable
	OutcomeCanceled                       // the context was canceled or its deadline passed
	OutcomeError                          // any other error

	// NumOutcomes is the number of Outcome values, for tables indexed by
	// Outcome.
	NumOutcomes = iota
)

var outcomeNames = [NumOutcomes]string{"ok", "not_found", "exists", "too_many_sessions", "unavailable", "canceled", "error"}

// String returns the outcome's name in snake case, such as "not_found".
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// Failed reports whether the outcome is a failure of the store (unavailable,
// canceled or another error), as opposed to an answer such as not found.
func (o Outcome) Failed() bool {
	return o >= OutcomeUnavailable
}

// Classify returns the outcome of a call that returned err.
func Classify(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, sessionkit.ErrNotFound):
		return OutcomeNotFound
	case errors.Is(err, sessionkit.ErrExists):
		return OutcomeExists
	case errors.Is(err, sessionkit.ErrTooManySessions):
		return OutcomeTooManySessions
	case errors.Is(err, sessionkit.ErrUnavailable):
		return OutcomeUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return OutcomeCanceled
	}
	return OutcomeError
}

// Call describes a finished store call. It does not carry the store key
// or the user ID, so that an Observer does not export them by accident.
type Call struct {
	Op Op
	// Start is when the call began (before Observer.Start ran).
	Start time.Time
	// Outcome classifies Err; a Load that found nothing, or a Remove that
	// removed nothing, is OutcomeNotFound with a nil Err.
	Outcome Outcome
	// Err is the error the call returned. Its message may quote the store
	// key, as some drivers' messages do: export Outcome, not Err.
	Err error
}

// An Observer watches the calls a wrapped store receives. It must be safe
// for concurrent use and should not block.
type Observer interface {
	// Start is called before each call. The context it returns is the one
	// the wrapped store receives and Done gets, so a tracer can return a
	// context holding a new span; return ctx itself otherwise.
	Start(ctx context.Context, op Op) context.Context
	// Done is called when the call returns, with the context Start
	// returned.
	Done(ctx context.Context, c Call)
}

// Unwrapper is implemented by every store Wrap returns: Unwrap returns the
// wrapped store, to reach methods that are not part of sessionkit's
// interfaces.
type Unwrapper interface {
	Unwrap() sessionkit.Store
}

// Wrap returns a Store that reports every call on s to o. The result
// implements sessionkit.UserIndex, sessionkit.Iterator,
// sessionkit.SessionLimiter, sessionkit.Remover and io.Closer when s does,
// and not otherwise; it always implements Unwrapper.
func Wrap(s sessionkit.Store, o Observer) sessionkit.Store {
	w := &store{s: s, o: o}
	p := parts{store: w}
	mask := 0
	if idx, ok := s.(sessionkit.UserIndex); ok {
		p.userIndex, mask = userIndex{w, idx}, mask|capUserIndex
	}
	if it, ok := s.(sessionkit.Iterator); ok {
		p.iterator, mask = iterator{w, it}, mask|capIterator
	}
	if l, ok := s.(sessionkit.SessionLimiter); ok {
		p.limiter, mask = limiter{w, l}, mask|capLimiter
	}
	if cl, ok := s.(io.Closer); ok {
		p.closer, mask = closer{cl}, mask|capCloser
	}
	if r, ok := s.(sessionkit.Remover); ok {
		p.remover, mask = remover{w, r}, mask|capRemover
	}
	return combine[mask](p)
}

// Capability bits: one per optional capability a wrapper may keep. To
// support a new capability, add a wrapper type, a field of parts and a bit
// for it, add it to gen.go and run go generate (combine.go).
const (
	capUserIndex = 1 << iota
	capIterator
	capLimiter
	capCloser
	capRemover
	numCaps = iota
)

// parts are the wrappers of every capability a store may have.
type parts struct {
	store     *store
	userIndex userIndex
	iterator  iterator
	limiter   limiter
	closer    closer
	remover   remover
}

// store wraps the methods of sessionkit.Store.
type store struct {
	s sessionkit.Store
	o Observer
}

// begin starts call op.
func (w *store) begin(ctx context.Context, op Op) (context.Context, Call) {
	c := Call{Op: op, Start: time.Now()}
	return w.o.Start(ctx, op), c
}

// end reports call c, which returned err; found is false when a Load found
// no record.
func (w *store) end(ctx context.Context, c Call, err error, found bool) {
	c.Err, c.Outcome = err, Classify(err)
	if err == nil && !found {
		c.Outcome = OutcomeNotFound
	}
	w.o.Done(ctx, c)
}

// Unwrap returns the wrapped store.
func (w *store) Unwrap() sessionkit.Store { return w.s }

// Load implements sessionkit.Store.
func (w *store) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	ctx, c := w.begin(ctx, OpLoad)
	rec, err := w.s.Load(ctx, id)
	w.end(ctx, c, err, rec != nil)
	return rec, err
}

// Create implements sessionkit.Store.
func (w *store) Create(ctx context.Context, rec *sessionkit.Record) error {
	ctx, c := w.begin(ctx, OpCreate)
	err := w.s.Create(ctx, rec)
	w.end(ctx, c, err, true)
	return err
}

// Update implements sessionkit.Store.
func (w *store) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	ctx, c := w.begin(ctx, OpUpdate)
	err := w.s.Update(ctx, id, d)
	w.end(ctx, c, err, true)
	return err
}

// Touch implements sessionkit.Store.
func (w *store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	ctx, c := w.begin(ctx, OpTouch)
	err := w.s.Touch(ctx, id, lastSeen, expiresAt)
	w.end(ctx, c, err, true)
	return err
}

// Delete implements sessionkit.Store.
func (w *store) Delete(ctx context.Context, id string) error {
	ctx, c := w.begin(ctx, OpDelete)
	err := w.s.Delete(ctx, id)
	w.end(ctx, c, err, true)
	return err
}

// userIndex wraps the methods of sessionkit.UserIndex.
type userIndex struct {
	w   *store
	idx sessionkit.UserIndex
}

// ListByUser implements sessionkit.UserIndex.
func (u userIndex) ListByUser(ctx context.Context, userID string) ([]sessionkit.SessionInfo, error) {
	ctx, c := u.w.begin(ctx, OpListByUser)
	list, err := u.idx.ListByUser(ctx, userID)
	u.w.end(ctx, c, err, true)
	return list, err
}

// DeleteByUser implements sessionkit.UserIndex.
func (u userIndex) DeleteByUser(ctx context.Context, userID string, except ...string) (int, error) {
	ctx, c := u.w.begin(ctx, OpDeleteByUser)
	n, err := u.idx.DeleteByUser(ctx, userID, except...)
	u.w.end(ctx, c, err, true)
	return n, err
}

// iterator wraps the method of sessionkit.Iterator.
type iterator struct {
	w  *store
	it sessionkit.Iterator
}

// Iterate implements sessionkit.Iterator.
func (i iterator) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	ctx, c := i.w.begin(ctx, OpIterate)
	page, next, err := i.it.Iterate(ctx, cursor, limit)
	i.w.end(ctx, c, err, true)
	return page, next, err
}

// limiter wraps the method of sessionkit.SessionLimiter.
type limiter struct {
	w *store
	l sessionkit.SessionLimiter
}

// LinkUser implements sessionkit.SessionLimiter.
func (l limiter) LinkUser(ctx context.Context, id, userID string, limit int, evict bool, now time.Time) ([]string, error) {
	ctx, c := l.w.begin(ctx, OpLinkUser)
	evicted, err := l.l.LinkUser(ctx, id, userID, limit, evict, now)
	l.w.end(ctx, c, err, true)
	return evicted, err
}

// remover wraps the method of sessionkit.Remover.
type remover struct {
	w *store
	r sessionkit.Remover
}

// Remove implements sessionkit.Remover. A Remove that removed nothing is
// observed as OutcomeNotFound.
func (r remover) Remove(ctx context.Context, id string) (bool, error) {
	ctx, c := r.w.begin(ctx, OpRemove)
	removed, err := r.r.Remove(ctx, id)
	r.w.end(ctx, c, err, removed)
	return removed, err
}

// closer passes Close through.
type closer struct{ c io.Closer }

// Close implements io.Closer.
func (c closer) Close() error { return c.c.Close() }
