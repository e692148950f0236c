package sessionkit_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
)

// TestListingsUseTheManagersClock checks that Iterate and UserSessions
// hand out only sessions alive by the manager's clock, even when the store
// still returns ended ones (its TTL is garbage collection only).
func TestListingsUseTheManagersClock(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	var mu sync.Mutex
	clock := time.Now()
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	m := newManager(t, sessionkit.Config{Store: st, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }})
	login := func() {
		serve(m, "", func(w http.ResponseWriter, r *http.Request) { _ = m.Session(r.Context()).SetUserID("u") })
	}
	count := func() (n int) {
		t.Helper()
		if err := m.Iterate(t.Context(), func(sessionkit.SessionInfo) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const old = 150 // more than one page
	for range old {
		login()
	}
	if n := count(); n != old {
		t.Fatalf("Iterate saw %d sessions, want %d", n, old)
	}
	n := 0
	if err := m.Iterate(t.Context(), func(sessionkit.SessionInfo) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("Iterate went on after fn returned false: %d calls, %v", n, err)
	}

	advance(20 * time.Minute)
	login()
	advance(15 * time.Minute) // the first sessions are idle for 35 minutes
	if n := count(); n != 1 {
		t.Fatalf("Iterate saw %d sessions, want only the live one", n)
	}
	list, err := m.UserSessions(t.Context(), "u")
	if err != nil || len(list) != 1 {
		t.Fatalf("UserSessions = %d entries, %v; want the live one", len(list), err)
	}
	if !list[0].ExpiresAt.After(clock) {
		t.Fatalf("UserSessions listed an ended session: %+v", list[0])
	}

	bare := newManager(t, sessionkit.Config{Store: struct{ sessionkit.Store }{st}})
	if err := bare.Iterate(t.Context(), func(sessionkit.SessionInfo) bool { return true }); !errors.Is(err, sessionkit.ErrNotSupported) {
		t.Fatalf("Iterate without Iterator = %v, want ErrNotSupported", err)
	}
}
