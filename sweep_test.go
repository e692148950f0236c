package sessionkit_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
)

// TestSweepWithoutRemover: on a store without Remover, Sweep deletes the
// expired sessions with Delete and reports each one it deleted; a live
// session stays.
func TestSweepWithoutRemover(t *testing.T) {
	ms := memstore.New(memstore.Options{})
	t.Cleanup(func() { ms.Close() })
	st := struct {
		sessionkit.Store
		sessionkit.Iterator
	}{ms, ms}
	var events eventLog
	now := time.Now()
	m := newManager(t, sessionkit.Config{Store: st, OnEvent: events.on, Now: func() time.Time { return now }})
	_, dead := login(t, m, "u")
	now = now.Add(sessionkit.DefaultIdleTimeout)
	live, _ := login(t, m, "u")
	events.take()
	if n, err := m.Sweep(t.Context()); n != 1 || err != nil {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	got := events.take()
	if len(got) != 1 || got[0].Kind != sessionkit.EventExpired || got[0].ID != dead || got[0].Reason != "idle timeout" || got[0].UserID != "u" {
		t.Fatalf("Sweep reported %+v; want the expiry of %s", got, dead)
	}
	if rec, _ := ms.Load(t.Context(), dead); rec != nil {
		t.Fatal("Sweep left the expired record")
	}
	serve(m, live, func(w http.ResponseWriter, r *http.Request) {
		if m.Session(r.Context()).UserID() != "u" {
			t.Error("Sweep ended a live session")
		}
	})
}

// TestSweepNeedsAnIterator: Sweep of a store that cannot be iterated, or
// of cookies, is ErrNotSupported.
func TestSweepNeedsAnIterator(t *testing.T) {
	ms := memstore.New(memstore.Options{})
	t.Cleanup(func() { ms.Close() })
	m := newManager(t, sessionkit.Config{Store: struct{ sessionkit.Store }{ms}})
	if _, err := m.Sweep(t.Context()); !errors.Is(err, sessionkit.ErrNotSupported) {
		t.Fatalf("Sweep of a plain Store = %v; want ErrNotSupported", err)
	}
}
