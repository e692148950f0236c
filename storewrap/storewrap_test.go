package storewrap_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessiontest"
	"github.com/sessionkit/sessionkit/storewrap"
)

// recorder is an Observer that keeps every call it sees.
type recorder struct {
	mu    sync.Mutex
	calls []storewrap.Call
}

type ctxKey struct{}

func (r *recorder) Start(ctx context.Context, op storewrap.Op) context.Context {
	return context.WithValue(ctx, ctxKey{}, op)
}

func (r *recorder) Done(ctx context.Context, c storewrap.Call) {
	if op, _ := ctx.Value(ctxKey{}).(storewrap.Op); op != c.Op {
		panic(fmt.Sprintf("Done for %v got the context of %v", c.Op, op))
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

func (r *recorder) last(t *testing.T) storewrap.Call {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("no call observed")
	}
	return r.calls[len(r.calls)-1]
}

func newMemstore(t *testing.T) *memstore.Store {
	s := memstore.New(memstore.Options{})
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store {
			return storewrap.Wrap(newMemstore(t), &recorder{})
		},
	})
}

// Capability bits, one per optional capability a Store may have.
const (
	capUserIndex = 1 << iota
	capIterator
	capLimiter
	capCloser
	capRemover
	numCaps = iota
)

// capabilities lists every optional Store capability: its bit, the name
// of the interface and a check of a value against it.
var capabilities = []struct {
	bit  int
	name string
	has  func(any) bool
}{
	{capUserIndex, "UserIndex", func(v any) bool { _, ok := v.(sessionkit.UserIndex); return ok }},
	{capIterator, "Iterator", func(v any) bool { _, ok := v.(sessionkit.Iterator); return ok }},
	{capLimiter, "SessionLimiter", func(v any) bool { _, ok := v.(sessionkit.SessionLimiter); return ok }},
	{capCloser, "io.Closer", func(v any) bool { _, ok := v.(io.Closer); return ok }},
	{capRemover, "Remover", func(v any) bool { _, ok := v.(sessionkit.Remover); return ok }},
}

func TestWrapKeepsExactlyTheCapabilities(t *testing.T) {
	ctx := context.Background()
	for mask := range 1 << numCaps {
		var names []string
		for _, c := range capabilities {
			if mask&c.bit != 0 {
				names = append(names, c.name)
			}
		}
		t.Run(strings.Join(append([]string{"Store"}, names...), "+"), func(t *testing.T) {
			ms := newMemstore(t)
			inner := withCaps(ms, mask)
			for _, c := range capabilities {
				if c.has(inner) != (mask&c.bit != 0) {
					t.Fatalf("test double for mask %b: %s = %v", mask, c.name, c.has(inner))
				}
			}
			rec := &recorder{}
			w := storewrap.Wrap(inner, rec)
			for _, c := range capabilities {
				if got, want := c.has(w), mask&c.bit != 0; got != want {
					t.Errorf("wrapped store implements %s: %v, want %v", c.name, got, want)
				}
			}
			if u, ok := w.(storewrap.Unwrapper); !ok || u.Unwrap() != inner {
				t.Error("Unwrap does not return the wrapped store")
			}

			// The methods reach the wrapped store and are observed.
			now := time.Now()
			r := &sessionkit.Record{ID: "id-" + t.Name(), UserID: "u1", CreatedAt: now, LastSeen: now,
				ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}
			if err := w.Create(ctx, r); err != nil {
				t.Fatal(err)
			}
			if got := rec.last(t); got.Op != storewrap.OpCreate || got.Outcome != storewrap.OutcomeOK {
				t.Errorf("Create observed as %v %v", got.Op, got.Outcome)
			}
			if idx, ok := w.(sessionkit.UserIndex); ok {
				list, err := idx.ListByUser(ctx, "u1")
				if err != nil || len(list) != 1 || list[0].ID != r.ID {
					t.Errorf("ListByUser = %v, %v", list, err)
				}
				if got := rec.last(t); got.Op != storewrap.OpListByUser {
					t.Errorf("ListByUser observed as %v", got.Op)
				}
			}
			if it, ok := w.(sessionkit.Iterator); ok {
				page, _, err := it.Iterate(ctx, "", 10)
				if err != nil || len(page) != 1 || page[0].ID != r.ID {
					t.Errorf("Iterate = %v, %v", page, err)
				}
				if got := rec.last(t); got.Op != storewrap.OpIterate {
					t.Errorf("Iterate observed as %v", got.Op)
				}
			}
			if l, ok := w.(sessionkit.SessionLimiter); ok {
				other := &sessionkit.Record{ID: "other-" + t.Name(), CreatedAt: now, LastSeen: now,
					ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}
				if err := w.Create(ctx, other); err != nil {
					t.Fatal(err)
				}
				if _, err := l.LinkUser(ctx, other.ID, "u1", 1, false, now); !errors.Is(err, sessionkit.ErrTooManySessions) {
					t.Errorf("LinkUser at the limit = %v; want ErrTooManySessions", err)
				}
				if got := rec.last(t); got.Op != storewrap.OpLinkUser || got.Outcome != storewrap.OutcomeTooManySessions || got.Outcome.Failed() {
					t.Errorf("LinkUser observed as %v %v", got.Op, got.Outcome)
				}
				evicted, err := l.LinkUser(ctx, other.ID, "u1", 1, true, now)
				if err != nil || len(evicted) != 1 || evicted[0] != r.ID {
					t.Errorf("LinkUser evicting = %v, %v; want [%s]", evicted, err, r.ID)
				}
				if got := rec.last(t); got.Op != storewrap.OpLinkUser || got.Outcome != storewrap.OutcomeOK {
					t.Errorf("LinkUser observed as %v %v", got.Op, got.Outcome)
				}
				r = other // the user's session now
			}
			if idx, ok := w.(sessionkit.UserIndex); ok {
				if n, err := idx.DeleteByUser(ctx, "u1"); n != 1 || err != nil {
					t.Errorf("DeleteByUser = %d, %v", n, err)
				}
				if got := rec.last(t); got.Op != storewrap.OpDeleteByUser {
					t.Errorf("DeleteByUser observed as %v", got.Op)
				}
			}
			if rm, ok := w.(sessionkit.Remover); ok {
				gone := &sessionkit.Record{ID: "gone-" + t.Name(), CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
				if err := w.Create(ctx, gone); err != nil {
					t.Fatal(err)
				}
				for _, want := range []storewrap.Outcome{storewrap.OutcomeOK, storewrap.OutcomeNotFound} {
					removed, err := rm.Remove(ctx, gone.ID)
					if removed != (want == storewrap.OutcomeOK) || err != nil {
						t.Errorf("Remove = %v, %v", removed, err)
					}
					if got := rec.last(t); got.Op != storewrap.OpRemove || got.Outcome != want || got.Err != nil {
						t.Errorf("Remove observed as %v %v; want remove %v", got.Op, got.Outcome, want)
					}
				}
			}
			if c, ok := w.(io.Closer); ok {
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}
		})
	}
}

// The root package's exported interfaces that are not optional Store
// capabilities, so Wrap has nothing to keep for them.
var notStoreCapabilities = []string{
	"ClientStore", "Codec", "Store", "Tokens",
	// Capabilities of a ClientStore, which Wrap does not wrap.
	"CookieNamer", "Resealer", "UserRevoker",
}

// TestEveryInterfaceIsClassified reads the root package and fails when it
// exports an interface that is neither a capability Wrap keeps nor listed
// in notStoreCapabilities, so that a capability added to the core cannot
// be dropped by the wrapper silently.
func TestEveryInterfaceIsClassified(t *testing.T) {
	files, err := filepath.Glob("../*.go")
	if err != nil {
		t.Fatal(err)
	}
	kept := []string{"Iterator", "Remover", "SessionLimiter", "UserIndex"} // io.Closer is not in the root package
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				if _, isIface := ts.Type.(*ast.InterfaceType); !isIface || !ts.Name.IsExported() {
					continue
				}
				if n := ts.Name.Name; !slices.Contains(kept, n) && !slices.Contains(notStoreCapabilities, n) {
					t.Errorf("sessionkit.%s is a new interface: if a Store may implement it, extend Wrap and TestWrapKeepsExactlyTheCapabilities; otherwise add it to notStoreCapabilities", n)
				}
			}
		}
	}
}

// failing is a store whose every call returns err.
type failing struct{ err error }

func (f failing) Load(context.Context, string) (*sessionkit.Record, error)  { return nil, f.err }
func (f failing) Create(context.Context, *sessionkit.Record) error          { return f.err }
func (f failing) Update(context.Context, string, sessionkit.Delta) error    { return f.err }
func (f failing) Touch(context.Context, string, time.Time, time.Time) error { return f.err }
func (f failing) Delete(context.Context, string) error                      { return f.err }

func TestOutcomes(t *testing.T) {
	ctx := context.Background()
	ms := newMemstore(t)
	now := time.Now()
	r := &sessionkit.Record{ID: "outcomes", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name  string
		store sessionkit.Store
		call  func(context.Context, sessionkit.Store) error
		ctx   context.Context
		op    storewrap.Op
		want  storewrap.Outcome
	}{
		{"create", ms, func(ctx context.Context, s sessionkit.Store) error { return s.Create(ctx, r) }, ctx, storewrap.OpCreate, storewrap.OutcomeOK},
		{"create again", ms, func(ctx context.Context, s sessionkit.Store) error { return s.Create(ctx, r) }, ctx, storewrap.OpCreate, storewrap.OutcomeExists},
		{"load hit", ms, func(ctx context.Context, s sessionkit.Store) error { _, err := s.Load(ctx, r.ID); return err }, ctx, storewrap.OpLoad, storewrap.OutcomeOK},
		{"load miss", ms, func(ctx context.Context, s sessionkit.Store) error { _, err := s.Load(ctx, "nope"); return err }, ctx, storewrap.OpLoad, storewrap.OutcomeNotFound},
		{"touch", ms, func(ctx context.Context, s sessionkit.Store) error {
			return s.Touch(ctx, r.ID, now, now.Add(time.Hour))
		}, ctx, storewrap.OpTouch, storewrap.OutcomeOK},
		{"update missing", ms, func(ctx context.Context, s sessionkit.Store) error {
			return s.Update(ctx, "nope", sessionkit.Delta{LastSeen: now, ExpiresAt: now.Add(time.Hour)})
		}, ctx, storewrap.OpUpdate, storewrap.OutcomeNotFound},
		{"load canceled", ms, func(ctx context.Context, s sessionkit.Store) error { _, err := s.Load(ctx, r.ID); return err }, canceled, storewrap.OpLoad, storewrap.OutcomeCanceled},
		{"delete", ms, func(ctx context.Context, s sessionkit.Store) error { return s.Delete(ctx, r.ID) }, ctx, storewrap.OpDelete, storewrap.OutcomeOK},
		{"unavailable", failing{fmt.Errorf("dial: %w", sessionkit.ErrUnavailable)}, func(ctx context.Context, s sessionkit.Store) error { return s.Delete(ctx, "x") }, ctx, storewrap.OpDelete, storewrap.OutcomeUnavailable},
		{"other error", failing{errors.New("disk full")}, func(ctx context.Context, s sessionkit.Store) error { return s.Delete(ctx, "x") }, ctx, storewrap.OpDelete, storewrap.OutcomeError},
	} {
		rec := &recorder{}
		err := tc.call(tc.ctx, storewrap.Wrap(tc.store, rec))
		got := rec.last(t)
		if got.Op != tc.op || got.Outcome != tc.want || !errors.Is(got.Err, err) {
			t.Errorf("%s: observed %v %v (err %v), want %v %v (err %v)", tc.name, got.Op, got.Outcome, got.Err, tc.op, tc.want, err)
		}
		if got.Start.IsZero() || time.Since(got.Start) > time.Minute {
			t.Errorf("%s: start time %v", tc.name, got.Start)
		}
		if got.Outcome.Failed() != (tc.want >= storewrap.OutcomeUnavailable) {
			t.Errorf("%s: Failed() = %v", tc.name, got.Outcome.Failed())
		}
	}
}

// ctxStore records the context its Load receives.
type ctxStore struct {
	failing
	got context.Context
}

func (s *ctxStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	s.got = ctx
	return nil, nil
}

func TestStartContextReachesTheStore(t *testing.T) {
	inner := &ctxStore{}
	w := storewrap.Wrap(inner, &recorder{})
	type parentKey struct{}
	ctx := context.WithValue(context.Background(), parentKey{}, "request")
	if _, err := w.Load(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if inner.got.Value(ctxKey{}) != storewrap.OpLoad || inner.got.Value(parentKey{}) != "request" {
		t.Error("the wrapped store did not get the observer's context derived from the caller's")
	}
}

func TestNames(t *testing.T) {
	var ops, outcomes []string
	for o := range storewrap.Op(storewrap.NumOps) {
		ops = append(ops, o.String())
	}
	for o := range storewrap.Outcome(storewrap.NumOutcomes) {
		outcomes = append(outcomes, o.String())
	}
	if got := strings.Join(ops, " "); got != "load create update touch delete list_by_user delete_by_user iterate link_user remove" {
		t.Errorf("op names: %s", got)
	}
	if got := strings.Join(outcomes, " "); got != "ok not_found exists too_many_sessions unavailable canceled error" {
		t.Errorf("outcome names: %s", got)
	}
	if storewrap.Op(200).String() != "unknown" || storewrap.Outcome(200).String() != "unknown" {
		t.Error("out-of-range names")
	}
}

// nop observes nothing.
type nop struct{}

func (nop) Start(ctx context.Context, _ storewrap.Op) context.Context { return ctx }
func (nop) Done(context.Context, storewrap.Call)                      {}

func TestWrapAddsNoAllocation(t *testing.T) {
	ms := newMemstore(t)
	ctx := context.Background()
	now := time.Now()
	if err := ms.Create(ctx, &sessionkit.Record{ID: "a", CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	w := storewrap.Wrap(ms, nop{})
	load := func(s sessionkit.Store) func() {
		return func() {
			if r, err := s.Load(ctx, "a"); r == nil || err != nil {
				panic("load failed")
			}
		}
	}
	bare, wrapped := testing.AllocsPerRun(200, load(ms)), testing.AllocsPerRun(200, load(w))
	if wrapped != bare {
		t.Errorf("Load allocates %v times wrapped, %v times bare", wrapped, bare)
	}
}

func ExampleWrap() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	wrapped := storewrap.Wrap(store, nop{})
	_, isIndex := wrapped.(sessionkit.UserIndex)
	_, isIterator := wrapped.(sessionkit.Iterator)
	_, isLimiter := wrapped.(sessionkit.SessionLimiter)
	_, isCloser := wrapped.(io.Closer)
	_, isRemover := wrapped.(sessionkit.Remover)
	fmt.Println(isIndex, isIterator, isLimiter, isCloser, isRemover)
	// Output: true true true true true
}
