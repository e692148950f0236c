// Package sessionotel traces the calls of a sessionkit store with
// OpenTelemetry.
//
// WrapStore returns a store that records one span per call, a child of the
// span in the call's context, which for the calls the middleware makes is
// the request's span:
//
//	sessions, err := sessionkit.New(sessionkit.Config{
//		Store: sessionotel.WrapStore(store, sessionotel.Options{}),
//	})
//
// A span is named after the operation ("sessionkit.store.load") and carries
// three attributes: sessionkit.store.operation, sessionkit.store.kind and
// sessionkit.store.outcome. It never carries a token, a store key or a user
// ID, and error messages are not recorded since a driver's message may
// quote a key: a failed call (outcome unavailable, canceled or error) sets
// the span's status to Error with the outcome as its description. The
// wrapped store receives the context holding the new span, so the spans of
// an instrumented database driver nest under it.
package sessionotel

import (
	"context"
	"path"
	"reflect"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/storewrap"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer sessionotel uses.
const ScopeName = "github.com/sessionkit/sessionkit/sessionotel"

// The attributes of a store span.
const (
	// OperationKey is the store call: load, create, update, touch,
	// delete, list_by_user, delete_by_user, iterate, link_user or remove.
	OperationKey = attribute.Key("sessionkit.store.operation")
	// KindKey names the store, such as "redisstore" (see Options.Kind).
	KindKey = attribute.Key("sessionkit.store.kind")
	// OutcomeKey is how the call ended: ok, not_found, exists,
	// unavailable, canceled or error.
	OutcomeKey = attribute.Key("sessionkit.store.outcome")
)

// Options configures WrapStore. The zero value is ready to use.
type Options struct {
	// TracerProvider creates the tracer (default otel.GetTracerProvider(),
	// the global provider).
	TracerProvider trace.TracerProvider
	// Kind is the value of the sessionkit.store.kind attribute. The
	// default is the name of the wrapped store's package, such as
	// "memstore" or "redisstore".
	Kind string
}

// WrapStore returns s with every call traced. The result has exactly the
// optional capabilities of s (UserIndex, Iterator, SessionLimiter,
// Remover, io.Closer); see package storewrap. Close is passed through without a span.
func WrapStore(s sessionkit.Store, opts Options) sessionkit.Store {
	tp := opts.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	kind := opts.Kind
	if kind == "" {
		kind = storeKind(s)
	}
	t := &tracer{t: tp.Tracer(ScopeName), kind: KindKey.String(kind)}
	for op := range storewrap.Op(storewrap.NumOps) {
		t.names[op] = "sessionkit.store." + op.String()
		t.ops[op] = OperationKey.String(op.String())
	}
	return storewrap.Wrap(s, t)
}

// storeKind returns the package name of the store under any storewrap
// wrappers, or "custom" when it has none.
func storeKind(s sessionkit.Store) string {
	for {
		u, ok := s.(storewrap.Unwrapper)
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	t := reflect.TypeOf(s)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() == "" {
		return "custom"
	}
	return path.Base(t.PkgPath())
}

// tracer is the storewrap.Observer that records spans.
type tracer struct {
	t     trace.Tracer
	kind  attribute.KeyValue
	names [storewrap.NumOps]string
	ops   [storewrap.NumOps]attribute.KeyValue
}

// Start implements storewrap.Observer.
func (t *tracer) Start(ctx context.Context, op storewrap.Op) context.Context {
	ctx, _ = t.t.Start(ctx, t.names[op], trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(t.ops[op], t.kind))
	return ctx
}

// Done implements storewrap.Observer.
func (t *tracer) Done(ctx context.Context, c storewrap.Call) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(OutcomeKey.String(c.Outcome.String()))
	if c.Outcome.Failed() {
		span.SetStatus(codes.Error, c.Outcome.String())
	}
	span.End()
}
