package sessionotel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessionotel"
	"github.com/sessionkit/sessionkit/storewrap"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// newProvider returns a tracer provider whose ended spans go to an
// in-memory exporter.
func newProvider(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp, exp
}

// spy is a store that remembers every ID it is given and the span context
// of each call.
type spy struct {
	*memstore.Store
	mu    sync.Mutex
	ids   []string
	spans []trace.SpanContext
}

func (s *spy) saw(ctx context.Context, id string) {
	s.mu.Lock()
	s.ids = append(s.ids, id)
	s.spans = append(s.spans, trace.SpanContextFromContext(ctx))
	s.mu.Unlock()
}

func (s *spy) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	s.saw(ctx, id)
	return s.Store.Load(ctx, id)
}

func (s *spy) Create(ctx context.Context, rec *sessionkit.Record) error {
	s.saw(ctx, rec.ID)
	return s.Store.Create(ctx, rec)
}

func (s *spy) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	s.saw(ctx, id)
	return s.Store.Update(ctx, id, d)
}

func (s *spy) Delete(ctx context.Context, id string) error {
	s.saw(ctx, id)
	return s.Store.Delete(ctx, id)
}

func (s *spy) Remove(ctx context.Context, id string) (bool, error) {
	s.saw(ctx, id)
	return s.Store.Remove(ctx, id)
}

func attrs(s tracetest.SpanStub) map[attribute.Key]string {
	m := make(map[attribute.Key]string)
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

func TestSpansAreChildrenOfTheRequestSpan(t *testing.T) {
	tp, exp := newProvider(t)
	ms := memstore.New(memstore.Options{})
	defer ms.Close()
	inner := &spy{Store: ms}
	m, err := sessionkit.New(sessionkit.Config{
		Store:  sessionotel.WrapStore(inner, sessionotel.Options{TracerProvider: tp, Kind: "memstore"}),
		Cookie: sessionkit.CookieConfig{Insecure: true}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	const userID = "user-7f3a"
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		s.Renew(false)
		s.SetUserID(userID)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) { m.Session(r.Context()).Destroy() })
	// The request span starts before the session middleware, as with
	// otelhttp.
	requests := tp.Tracer("test")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := requests.Start(r.Context(), "request "+r.URL.Path)
		defer span.End()
		m.Middleware(mux).ServeHTTP(w, r.WithContext(ctx))
	})

	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", "/login", nil))
	cookie := rr.Result().Cookies()[0]
	req := httptest.NewRequest("GET", "/logout", nil)
	req.AddCookie(cookie)
	h.ServeHTTP(httptest.NewRecorder(), req)

	spans := exp.GetSpans()
	byID := make(map[trace.SpanID]tracetest.SpanStub)
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	var got []string
	for _, s := range spans {
		if !strings.HasPrefix(s.Name, "sessionkit.store.") {
			continue
		}
		a := attrs(s)
		got = append(got, a[sessionotel.OperationKey]+"/"+a[sessionotel.OutcomeKey])
		if len(a) != 3 || a[sessionotel.KindKey] != "memstore" || "sessionkit.store."+a[sessionotel.OperationKey] != s.Name {
			t.Errorf("span %s has attributes %v", s.Name, a)
		}
		parent, ok := byID[s.Parent.SpanID()]
		if !ok || !strings.HasPrefix(parent.Name, "request ") || parent.SpanContext.TraceID() != s.SpanContext.TraceID() {
			t.Errorf("span %s: parent %q, want the request span", s.Name, parent.Name)
		}
		if s.SpanKind != trace.SpanKindInternal || s.Status.Code != codes.Unset {
			t.Errorf("span %s: kind %v, status %v", s.Name, s.SpanKind, s.Status)
		}
	}
	if want := "create/ok load/ok remove/ok"; strings.Join(got, " ") != want {
		t.Errorf("store spans %q, want %q", strings.Join(got, " "), want)
	}

	// The store received each call's span as the current span, so a
	// driver's spans nest under it.
	if len(inner.spans) != 3 {
		t.Fatalf("store saw %d calls", len(inner.spans))
	}
	for i, sc := range inner.spans {
		if s, ok := byID[sc.SpanID()]; !ok || !strings.HasPrefix(s.Name, "sessionkit.store.") {
			t.Errorf("store call %d ran in span %q, not in its own store span", i, s.Name)
		}
	}

	// Nothing secret or identifying in any span.
	secrets := append([]string{cookie.Value, userID}, inner.ids...)
	for _, s := range spans {
		var text []string
		for _, kv := range s.Attributes {
			text = append(text, kv.Value.String())
		}
		for _, e := range s.Events {
			text = append(text, e.Name)
			for _, kv := range e.Attributes {
				text = append(text, kv.Value.String())
			}
		}
		text = append(text, s.Name, s.Status.Description)
		all := strings.Join(text, " ")
		for _, secret := range secrets {
			if secret != "" && strings.Contains(all, secret) {
				t.Errorf("span %s contains %q", s.Name, secret)
			}
		}
	}
}

// failing is a store whose every call returns err, and whose error message
// quotes the key as some drivers do.
type failing struct{ err error }

func (f failing) fail(id string) error { return fmt.Errorf("key %s: %w", id, f.err) }
func (f failing) Load(_ context.Context, id string) (*sessionkit.Record, error) {
	return nil, f.fail(id)
}
func (f failing) Create(_ context.Context, r *sessionkit.Record) error          { return f.fail(r.ID) }
func (f failing) Update(_ context.Context, id string, _ sessionkit.Delta) error { return f.fail(id) }
func (f failing) Touch(_ context.Context, id string, _, _ time.Time) error      { return f.fail(id) }
func (f failing) Delete(_ context.Context, id string) error                     { return f.fail(id) }

func TestOutcomesAndStatus(t *testing.T) {
	ctx := context.Background()
	const key = "k3y-that-must-not-leak"
	for _, tc := range []struct {
		name    string
		store   sessionkit.Store
		outcome string
		status  codes.Code
	}{
		{"unavailable", failing{sessionkit.ErrUnavailable}, "unavailable", codes.Error},
		{"other error", failing{errors.New("disk full")}, "error", codes.Error},
		{"not found", memstore.New(memstore.Options{CleanupInterval: -1}), "not_found", codes.Unset},
	} {
		tp, exp := newProvider(t)
		w := sessionotel.WrapStore(tc.store, sessionotel.Options{TracerProvider: tp, Kind: "test"})
		if _, err := w.Load(ctx, key); (err != nil) != (tc.status == codes.Error) {
			t.Errorf("%s: Load error %v", tc.name, err)
		}
		spans := exp.GetSpans()
		if len(spans) != 1 {
			t.Fatalf("%s: %d spans", tc.name, len(spans))
		}
		s := spans[0]
		a := attrs(s)
		if a[sessionotel.OutcomeKey] != tc.outcome || a[sessionotel.KindKey] != "test" || a[sessionotel.OperationKey] != "load" {
			t.Errorf("%s: attributes %v", tc.name, a)
		}
		if s.Status.Code != tc.status || (tc.status == codes.Error && s.Status.Description != tc.outcome) {
			t.Errorf("%s: status %v", tc.name, s.Status)
		}
		if len(s.Events) != 0 || strings.Contains(fmt.Sprint(s.Attributes, s.Status), key) {
			t.Errorf("%s: the span records the error or the key: %+v", tc.name, s)
		}
		if c, ok := tc.store.(io.Closer); ok {
			c.Close()
		}
	}
}

// nop observes nothing.
type nop struct{}

func (nop) Start(ctx context.Context, _ storewrap.Op) context.Context { return ctx }
func (nop) Done(context.Context, storewrap.Call)                      {}

func TestKindAndCapabilities(t *testing.T) {
	tp, exp := newProvider(t)
	ms := memstore.New(memstore.Options{})
	defer ms.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name                            string
		store                           sessionkit.Store
		kind                            string
		index, iterator, limiter, close bool
	}{
		{"memstore", ms, "memstore", true, true, true, true},
		{"memstore under another wrapper", storewrap.Wrap(ms, nop{}), "memstore", true, true, true, true},
		{"a plain Store", struct{ sessionkit.Store }{ms}, "custom", false, false, false, false},
		{"Store and Iterator", struct {
			sessionkit.Store
			sessionkit.Iterator
		}{ms, ms}, "custom", false, true, false, false},
		{"Store and SessionLimiter", struct {
			sessionkit.Store
			sessionkit.SessionLimiter
		}{ms, ms}, "custom", false, false, true, false},
	} {
		w := sessionotel.WrapStore(tc.store, sessionotel.Options{TracerProvider: tp})
		_, index := w.(sessionkit.UserIndex)
		_, iterator := w.(sessionkit.Iterator)
		_, limiter := w.(sessionkit.SessionLimiter)
		_, closer := w.(io.Closer)
		if index != tc.index || iterator != tc.iterator || limiter != tc.limiter || closer != tc.close {
			t.Errorf("%s: UserIndex %v, Iterator %v, SessionLimiter %v, Close %v", tc.name, index, iterator, limiter, closer)
		}
		exp.Reset()
		w.Load(ctx, "x")
		if spans := exp.GetSpans(); len(spans) != 1 || attrs(spans[0])[sessionotel.KindKey] != tc.kind {
			t.Errorf("%s: spans %v, want kind %q", tc.name, spans, tc.kind)
		}
	}
}

// TestRemoveIsTraced: a store's Remover is kept, and each Remove gets a
// span like Delete's, not_found when it removed nothing.
func TestRemoveIsTraced(t *testing.T) {
	tp, exp := newProvider(t)
	ms := memstore.New(memstore.Options{})
	defer ms.Close()
	ctx := context.Background()
	w := sessionotel.WrapStore(ms, sessionotel.Options{TracerProvider: tp})
	rm, ok := w.(sessionkit.Remover)
	if !ok {
		t.Fatal("the wrapped memstore lost its Remover")
	}
	now := time.Now()
	if err := ms.Create(ctx, &sessionkit.Record{ID: "r", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ok", "not_found"} {
		exp.Reset()
		rm.Remove(ctx, "r")
		spans := exp.GetSpans()
		if len(spans) != 1 || spans[0].Name != "sessionkit.store.remove" || attrs(spans[0])[sessionotel.OperationKey] != "remove" ||
			attrs(spans[0])[sessionotel.OutcomeKey] != want {
			t.Errorf("Remove spans %v; want one sessionkit.store.remove, outcome %s", spans, want)
		}
	}
}
