package sessionkit_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
)

// sharingStore hands out one shared record per ID, as the Store contract
// allows, and keeps the first one it returned to check that nobody changed
// it.
type sharingStore struct {
	sessionkit.Store
	mu     sync.Mutex
	shared map[string]*sessionkit.Record
}

func (s *sharingStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.shared[id]; ok {
		return rec, nil
	}
	rec, err := s.Store.Load(ctx, id)
	if rec != nil {
		s.shared[id] = rec
	}
	return rec, err
}

// TestLoadedRecordNotModified checks that changing a session never writes
// to the record the store returned, nor to the state of new sessions.
func TestLoadedRecordNotModified(t *testing.T) {
	mem := memstore.New(memstore.Options{})
	t.Cleanup(func() { mem.Close() })
	st := &sharingStore{Store: mem, shared: make(map[string]*sessionkit.Record)}
	m := newManager(t, sessionkit.Config{Store: st})

	res := serve(m, "", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		s.Put("k", "v")
		s.SetUserID("alice")
	})
	token := sessionCookie(res).Value

	// A new session, unchanged, must not see what the first one set.
	serve(m, "", func(w http.ResponseWriter, r *http.Request) {
		if u := m.Session(r.Context()).UserID(); u != "" {
			t.Errorf("new session's user = %q, want empty", u)
		}
	})

	// Load the record once so that the store shares it from now on.
	serve(m, token, func(w http.ResponseWriter, r *http.Request) {})
	if len(st.shared) != 1 {
		t.Fatalf("store shared %d records, want 1", len(st.shared))
	}
	var shared *sessionkit.Record
	for _, rec := range st.shared {
		shared = rec
	}
	before := *shared

	serve(m, token, func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		if err := s.SetUserID("bob"); err != nil {
			t.Fatal(err)
		}
		if err := s.RememberMe(true); err != nil {
			t.Fatal(err)
		}
		if u := s.UserID(); u != "bob" {
			t.Errorf("UserID = %q after SetUserID, want bob", u)
		}
	})
	if shared.UserID != before.UserID || shared.Persistent != before.Persistent ||
		!shared.AbsoluteExpiry.Equal(before.AbsoluteExpiry) || !shared.LastSeen.Equal(before.LastSeen) {
		t.Errorf("the store's record changed: %+v, was %+v", *shared, before)
	}
	if shared.UserID != "alice" {
		t.Errorf("shared record's user = %q, want alice", shared.UserID)
	}
}
