package sessionkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

// eventLog collects the events a manager emits.
type eventLog struct {
	mu     sync.Mutex
	events []sessionkit.Event
}

func (l *eventLog) on(_ context.Context, e sessionkit.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// take returns the events collected so far and forgets them.
func (l *eventLog) take() []sessionkit.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

// login runs a request that links a new session to user and returns its
// cookie value and store key.
func login(t *testing.T, m *sessionkit.Manager, user string) (cookie, id string) {
	t.Helper()
	var s *sessionkit.Session
	res := serve(m, "", func(w http.ResponseWriter, r *http.Request) {
		s = m.Session(r.Context())
		if err := s.SetUserID(user); err != nil {
			t.Error(err)
		}
	})
	c := sessionCookie(res)
	if c == nil {
		t.Fatal("login set no cookie")
	}
	return c.Value, s.ID()
}

// destroyedIDs returns the store keys of the EventDestroyed events in
// events, sorted, and fails on any other kind or on an event without ID.
func destroyedIDs(t *testing.T, events []sessionkit.Event) []string {
	t.Helper()
	var ids []string
	for _, e := range events {
		if e.Kind != sessionkit.EventDestroyed || e.ID == "" || e.UserID != "u" || e.Reason != "revoked" {
			t.Errorf("unexpected event %+v", e)
		}
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestRevocationsEmitOneEventPerSession checks that "sign out everywhere
// else" and RevokeUserSessions emit one EventDestroyed per ended session,
// with its store key, and none for the sessions they spare.
func TestRevocationsEmitOneEventPerSession(t *testing.T) {
	var events eventLog
	m := newManager(t, sessionkit.Config{OnEvent: events.on})
	laptop, laptopID := login(t, m, "u")
	_, phoneID := login(t, m, "u")
	_, tabletID := login(t, m, "u")
	login(t, m, "someone else")
	events.take()

	serve(m, laptop, func(w http.ResponseWriter, r *http.Request) {
		n, err := m.Session(r.Context()).RevokeOtherSessions()
		if n != 2 || err != nil {
			t.Errorf("RevokeOtherSessions = %d, %v; want 2", n, err)
		}
	})
	want := []string{phoneID, tabletID}
	slices.Sort(want)
	if got := destroyedIDs(t, events.take()); !slices.Equal(got, want) {
		t.Fatalf("RevokeOtherSessions emitted destroyed events for %q; want %q", got, want)
	}

	_, watchID := login(t, m, "u")
	events.take()
	n, err := m.RevokeUserSessions(t.Context(), "u", laptopID)
	if n != 1 || err != nil {
		t.Fatalf("RevokeUserSessions = %d, %v; want 1", n, err)
	}
	if got := destroyedIDs(t, events.take()); !slices.Equal(got, []string{watchID}) {
		t.Fatalf("RevokeUserSessions emitted destroyed events for %q; want %q", got, watchID)
	}
}

// TestDestroyReasons: the application names why sessions end, with
// Session.SetReason for Destroy and RevokeOtherSessions and WithReason for
// the Manager's revocations; without it the reasons are "destroy" and
// "revoked", and an eviction stays "session limit". The log carries it.
func TestDestroyReasons(t *testing.T) {
	var events eventLog
	logger, logs := logCapture()
	m := newManager(t, sessionkit.Config{OnEvent: events.on, Logger: logger, MaxSessionsPerUser: 3, LimitPolicy: sessionkit.EvictOldest})
	reasons := func() (got []string) {
		for _, e := range events.take() {
			if e.Kind == sessionkit.EventDestroyed {
				got = append(got, e.Reason)
			}
		}
		return got
	}
	check := func(what string, want ...string) {
		t.Helper()
		if got := reasons(); !slices.Equal(got, want) {
			t.Errorf("%s: destroyed reasons %q; want %q", what, got, want)
		}
	}
	end := func(cookie string, f func(s *sessionkit.Session)) {
		serve(m, cookie, func(w http.ResponseWriter, r *http.Request) { f(m.Session(r.Context())) })
	}

	a, _ := login(t, m, "u")
	b, _ := login(t, m, "u")
	events.take()
	end(a, func(s *sessionkit.Session) { _ = s.Destroy() })
	check("Destroy", sessionkit.ReasonDestroy)
	end(b, func(s *sessionkit.Session) { s.SetReason(sessionkit.ReasonLogout); _ = s.Destroy() })
	check("Destroy after SetReason", sessionkit.ReasonLogout)

	a, _ = login(t, m, "u")
	login(t, m, "u")
	events.take()
	end(a, func(s *sessionkit.Session) {
		s.SetReason(sessionkit.ReasonPasswordChange)
		if n, err := s.RevokeOtherSessions(); n != 1 || err != nil {
			t.Errorf("RevokeOtherSessions = %d, %v; want 1", n, err)
		}
	})
	check("RevokeOtherSessions after SetReason", sessionkit.ReasonPasswordChange)

	login(t, m, "u")
	events.take()
	ctx := sessionkit.WithReason(t.Context(), sessionkit.ReasonPasswordChange)
	if n, err := m.RevokeUserSessions(ctx, "u"); n != 2 || err != nil {
		t.Fatalf("RevokeUserSessions = %d, %v; want 2", n, err)
	}
	check("RevokeUserSessions with WithReason", sessionkit.ReasonPasswordChange, sessionkit.ReasonPasswordChange)
	_, id := login(t, m, "u")
	events.take()
	if err := m.RevokeSession(t.Context(), "u", id); err != nil {
		t.Fatal(err)
	}
	check("RevokeSession", sessionkit.ReasonRevoked)

	// A login beyond the limit evicts the oldest session: "session limit",
	// whatever reason the request gives.
	for range 3 {
		login(t, m, "u")
	}
	events.take()
	serve(m, "", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		s.SetReason(sessionkit.ReasonLogout)
		if err := s.SetUserID("u"); err != nil {
			t.Error(err)
		}
	})
	check("eviction", sessionkit.ReasonSessionLimit)

	var logged []string
	for _, rec := range logs.records(t) {
		if rec["msg"] == "sessionkit: session destroyed" {
			logged = append(logged, rec["reason"].(string))
		}
	}
	if want := []string{"destroy", "logout", "password change", "password change", "password change", "revoked", "session limit"}; !slices.Equal(logged, want) {
		t.Errorf("logged destroy reasons %q; want %q", logged, want)
	}
}

// logCapture returns a logger that writes JSON records to the returned
// buffer, at every level.
func logCapture() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the log records written so far.
func (b *syncBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRejectedTokens checks that a forged or unknown cookie value is
// reported as EventRejected with its reason (and the store key of an
// unknown token) and logged at Info without the value.
func TestRejectedTokens(t *testing.T) {
	var events eventLog
	logger, logs := logCapture()
	m := newManager(t, sessionkit.Config{OnEvent: events.on, Logger: logger})
	ended, endedID := login(t, m, "u")
	serve(m, ended, func(w http.ResponseWriter, r *http.Request) { _ = m.Session(r.Context()).Destroy() })
	live, _ := login(t, m, "u")
	events.take()

	const forged = "forged-value-0123456789"
	serve(m, forged, func(http.ResponseWriter, *http.Request) {})
	serve(m, ended, func(http.ResponseWriter, *http.Request) {})
	want := []sessionkit.Event{
		{Kind: sessionkit.EventRejected, Reason: sessionkit.RejectedForged},
		{Kind: sessionkit.EventRejected, ID: endedID, Reason: sessionkit.RejectedUnknown},
	}
	if got := events.take(); !slices.Equal(got, want) {
		t.Fatalf("events = %+v; want %+v", got, want)
	}
	if got := sessionkit.EventRejected.String(); got != "rejected" {
		t.Errorf("EventRejected.String() = %q", got)
	}
	var reasons []string
	for _, rec := range logs.records(t) {
		if rec["msg"] == "sessionkit: session token rejected" && rec["level"] == "INFO" {
			reasons = append(reasons, rec["reason"].(string))
		}
	}
	if !slices.Equal(reasons, []string{"forged", "unknown"}) {
		t.Fatalf("rejections logged at Info with reasons %q; want forged, unknown", reasons)
	}
	for _, secret := range []string{forged, ended, live} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("the log holds a cookie value:\n%s", logs)
		}
	}

	// A client store cannot tell forged from unknown.
	var clientEvents eventLog
	cs, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	if err != nil {
		t.Fatal(err)
	}
	cm := newManager(t, sessionkit.Config{ClientStore: cs, OnEvent: clientEvents.on, Logger: logger})
	serve(cm, forged, func(http.ResponseWriter, *http.Request) {})
	if got := clientEvents.take(); !slices.Equal(got, []sessionkit.Event{{Kind: sessionkit.EventRejected, Reason: sessionkit.RejectedUnknown}}) {
		t.Fatalf("client store events = %+v; want one unknown rejection", got)
	}
}

// TestLifecycleLogged checks that creation, renewal, expiry and destruction are logged
// at Info with the user, client IP and User-Agent, and that neither a token
// nor a store key ever reaches the log.
func TestLifecycleLogged(t *testing.T) {
	logger, logs := logCapture()
	clock := sessiontest.NewClock()
	m := newManager(t, sessionkit.Config{Logger: logger, Now: clock.Now})
	var secrets []string
	do := func(cookie string, f func(s *sessionkit.Session)) string {
		t.Helper()
		req := httptest.NewRequest("GET", "https://example.test/", nil)
		req.RemoteAddr = "203.0.113.7:4711"
		req.Header.Set("User-Agent", "lifecycle-agent")
		req.Header.Set("Accept-Language", "de-CH")
		if cookie != "" {
			req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
		}
		rr := httptest.NewRecorder()
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.Session(r.Context())
			f(s)
			secrets = append(secrets, s.ID())
		})).ServeHTTP(rr, req)
		if c := sessionCookie(rr.Result()); c != nil && c.Value != "" {
			secrets = append(secrets, c.Value)
			return c.Value
		}
		return cookie
	}
	c := do("", func(s *sessionkit.Session) { _ = s.SetUserID("alice") })
	c = do(c, func(s *sessionkit.Session) {
		want := map[string]string{"ip": "203.0.113.7", "ua": "lifecycle-agent", "lang": "de-CH"}
		if got := s.Meta(); !maps.Equal(got, want) {
			t.Errorf("Meta() = %v; want %v", got, want)
		}
		_ = s.Renew(true)
	})
	clock.Advance(sessionkit.DefaultIdleTimeout + time.Second)
	do(c, func(*sessionkit.Session) {})
	c = do("", func(s *sessionkit.Session) { _ = s.SetUserID("alice") })
	do(c, func(s *sessionkit.Session) { _ = s.Destroy() })

	var got, ids []string
	var previous string
	for _, rec := range logs.records(t) {
		msg, _ := rec["msg"].(string)
		if !strings.HasPrefix(msg, "sessionkit: session ") || msg == "sessionkit: session token rejected" {
			continue
		}
		if rec["level"] != "INFO" || rec["user"] != "alice" || rec["ip"] != "203.0.113.7" || rec["user_agent"] != "lifecycle-agent" {
			t.Errorf("log record %v lacks the level, user, IP or User-Agent", rec)
		}
		id, _ := rec["session"].(string)
		if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Errorf("log record %v: session %q is not 16 hex digits", rec, id)
		}
		if msg == "sessionkit: session renewed" {
			previous, _ = rec["previous"].(string)
		}
		got, ids = append(got, msg), append(ids, id)
	}
	want := []string{"sessionkit: session created", "sessionkit: session renewed", "sessionkit: session expired",
		"sessionkit: session created", "sessionkit: session destroyed"}
	if !slices.Equal(got, want) {
		t.Fatalf("lifecycle log = %q; want %q", got, want)
	}
	// One session's lines share its identifier; a renewal links the old
	// and the new one; another session has another.
	if previous != ids[0] || ids[1] == ids[0] || ids[2] != ids[1] || ids[4] != ids[3] || ids[3] == ids[1] {
		t.Errorf("session identifiers %q (renewal's previous %q) do not link the lines of each session", ids, previous)
	}
	for _, secret := range secrets {
		if secret != "" && strings.Contains(logs.String(), secret) {
			t.Fatalf("the log holds a token or store key %q:\n%s", secret, logs)
		}
		for _, id := range ids {
			if strings.Contains(secret, id) {
				t.Errorf("session identifier %q is part of the token or store key %q", id, secret)
			}
		}
	}
}
