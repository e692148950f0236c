package sessionkit_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/memstore"
)

// limitedLogin is the login handler of the session-limit tests: it renews
// the session and links it to user "u", answering 409 "too many sessions"
// when the limit refuses.
func limitedLogin(m *sessionkit.Manager) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		if err := s.Renew(false); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		err := s.SetUserID("u")
		switch {
		case errors.Is(err, sessionkit.ErrTooManySessions):
			http.Error(w, "too many sessions", http.StatusConflict)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	}
}

// userOfCookie returns the user of the session that cookie names, "" when
// it names none (or an anonymous one).
func userOfCookie(m *sessionkit.Manager, cookie string) string {
	var user string
	serve(m, cookie, func(w http.ResponseWriter, r *http.Request) { user = m.Session(r.Context()).UserID() })
	return user
}

// loginLimited logs in through limitedLogin and returns the status and the
// session cookie's value.
func loginLimited(t *testing.T, m *sessionkit.Manager) (int, string) {
	t.Helper()
	res := serve(m, "", limitedLogin(m))
	c := sessionCookie(res)
	if c == nil {
		t.Fatal("login set no cookie")
	}
	return res.StatusCode, c.Value
}

// TestSessionLimitEvictsOldest checks that under EvictOldest a login
// beyond MaxSessionsPerUser ends the oldest session (its cookie no longer
// works), reports it as EventDestroyed with ReasonSessionLimit, and logs
// it without the token.
func TestSessionLimitEvictsOldest(t *testing.T) {
	var events eventLog
	logger, logs := logCapture()
	m := newManager(t, sessionkit.Config{MaxSessionsPerUser: 2, OnEvent: events.on, Logger: logger})
	var cookies []string
	for range 3 {
		code, c := loginLimited(t, m)
		if code != http.StatusOK {
			t.Fatalf("login answered %d", code)
		}
		cookies = append(cookies, c)
	}
	if got := userOfCookie(m, cookies[0]); got != "" {
		t.Fatalf("the oldest session still works for %q after a login beyond the limit", got)
	}
	for i, c := range cookies[1:] {
		if got := userOfCookie(m, c); got != "u" {
			t.Fatalf("session %d has user %q; want u", i+1, got)
		}
	}
	list, err := m.UserSessions(t.Context(), "u")
	if err != nil || len(list) != 2 {
		t.Fatalf("UserSessions = %d entries, %v; want 2", len(list), err)
	}
	var evicted []sessionkit.Event
	for _, e := range events.take() {
		if e.Kind == sessionkit.EventDestroyed {
			evicted = append(evicted, e)
		}
	}
	if len(evicted) != 1 || evicted[0].Reason != sessionkit.ReasonSessionLimit || evicted[0].UserID != "u" ||
		evicted[0].ID != sessionkit.HashToken(cookies[0]) {
		t.Fatalf("destroyed events %+v; want one for the oldest session, reason %q", evicted, sessionkit.ReasonSessionLimit)
	}
	logged := false
	for _, rec := range logs.records(t) {
		if rec["msg"] == "sessionkit: session destroyed" && rec["reason"] == sessionkit.ReasonSessionLimit && rec["user"] == "u" {
			logged = true
		}
	}
	if !logged {
		t.Fatalf("the eviction was not logged as a lifecycle event:\n%s", logs)
	}
	for _, c := range cookies {
		if strings.Contains(logs.String(), c) {
			t.Fatal("the log carries a session token")
		}
	}
}

// TestSessionLimitRejectsNew checks that under RejectNew a login beyond
// MaxSessionsPerUser reaches the handler as ErrTooManySessions, leaves the
// new session unlinked, and leaves the user's sessions alone.
func TestSessionLimitRejectsNew(t *testing.T) {
	m := newManager(t, sessionkit.Config{MaxSessionsPerUser: 2, LimitPolicy: sessionkit.RejectNew})
	var cookies []string
	for range 2 {
		code, c := loginLimited(t, m)
		if code != http.StatusOK {
			t.Fatalf("login under the limit answered %d", code)
		}
		cookies = append(cookies, c)
	}
	code, extra := loginLimited(t, m)
	if code != http.StatusConflict {
		t.Fatalf("login at the limit answered %d; want 409", code)
	}
	if got := userOfCookie(m, extra); got != "" {
		t.Fatalf("a refused login linked its session to %q", got)
	}
	for i, c := range cookies {
		if got := userOfCookie(m, c); got != "u" {
			t.Fatalf("session %d has user %q after a refused login; want u", i, got)
		}
	}
	// Signing out one device makes room.
	serve(m, cookies[0], func(w http.ResponseWriter, r *http.Request) { _ = m.Session(r.Context()).Destroy() })
	if code, _ := loginLimited(t, m); code != http.StatusOK {
		t.Fatalf("login after a logout answered %d", code)
	}
}

// TestSessionLimitIgnoresExpired checks that sessions that ended by the
// manager's clock do not count against the limit, whatever the store
// still holds.
func TestSessionLimitIgnoresExpired(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	m := newManager(t, sessionkit.Config{MaxSessionsPerUser: 1, LimitPolicy: sessionkit.RejectNew, Now: now})
	if code, _ := loginLimited(t, m); code != http.StatusOK {
		t.Fatalf("first login answered %d", code)
	}
	if code, _ := loginLimited(t, m); code != http.StatusConflict {
		t.Fatalf("second login answered %d; want 409", code)
	}
	mu.Lock()
	clock = clock.Add(sessionkit.DefaultIdleTimeout + time.Second)
	mu.Unlock()
	if code, _ := loginLimited(t, m); code != http.StatusOK {
		t.Fatalf("login after the first session went idle answered %d; want 200", code)
	}
}

// TestSessionLimitConcurrentLogins runs 16 logins of one user at once
// through an HTTP server under a limit of 3: exactly 3 get in.
func TestSessionLimitConcurrentLogins(t *testing.T) {
	m := newManager(t, sessionkit.Config{MaxSessionsPerUser: 3, LimitPolicy: sessionkit.RejectNew})
	srv := httptest.NewTLSServer(m.Middleware(limitedLogin(m)))
	defer srv.Close()
	var wg sync.WaitGroup
	codes := make([]int, 16)
	for i := range codes {
		wg.Go(func() {
			res, err := srv.Client().Post(srv.URL, "text/plain", nil)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		})
	}
	wg.Wait()
	ok := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusConflict:
		default:
			t.Fatalf("login answered %d", c)
		}
	}
	if ok != 3 {
		t.Fatalf("%d of 16 concurrent logins got in under a limit of 3", ok)
	}
}

// TestSessionLimitNeedsASessionLimiter checks that New refuses a limit it
// cannot enforce.
func TestSessionLimitNeedsASessionLimiter(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	cs, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  sessionkit.Config
		want string
	}{
		{"client store", sessionkit.Config{ClientStore: cs, MaxSessionsPerUser: 3}, "server-side Store"},
		{"no limiter", sessionkit.Config{Store: struct{ sessionkit.Store }{st}, MaxSessionsPerUser: 3}, "SessionLimiter"},
		{"negative", sessionkit.Config{Store: st, MaxSessionsPerUser: -1}, "negative"},
		{"unknown policy", sessionkit.Config{Store: st, MaxSessionsPerUser: 3, LimitPolicy: 7}, "LimitPolicy"},
	} {
		if _, err := sessionkit.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v; want an error containing %q", c.name, err, c.want)
		}
	}
	if _, err := sessionkit.New(sessionkit.Config{Store: struct{ sessionkit.Store }{st}}); err != nil {
		t.Errorf("New without a limit needs no SessionLimiter: %v", err)
	}
}
