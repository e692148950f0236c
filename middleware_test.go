package sessionkit_test

import (
	"bufio"
	"bytes"
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
)

func newManager(t *testing.T, cfg sessionkit.Config) *sessionkit.Manager {
	t.Helper()
	if cfg.Store == nil && cfg.ClientStore == nil {
		st := memstore.New(memstore.Options{})
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	}
	m, err := sessionkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == sessionkit.DefaultCookieName {
			return c
		}
	}
	return nil
}

func serve(m *sessionkit.Manager, cookie string, h http.HandlerFunc) *http.Response {
	req := httptest.NewRequest("GET", "https://example.test/", nil)
	if cookie != "" {
		req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
	}
	rr := httptest.NewRecorder()
	m.Middleware(h).ServeHTTP(rr, req)
	return rr.Result()
}

// TestStreamingKeepsWorking checks that the session is saved before the
// first flushed byte and that flushing reaches the client before the
// handler returns (server-sent events).
func TestStreamingKeepsWorking(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	release := make(chan struct{})
	srv := httptest.NewTLSServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		if err := s.Put("stream", "on"); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Errorf("SetWriteDeadline through the middleware: %v", err)
		}
		fmt.Fprint(w, "data: one\n\n")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-release
		fmt.Fprint(w, "data: two\n\n")
	})))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if sessionCookie(res) == nil {
		t.Fatal("the flushed response carries no session cookie")
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event = %q, %v; the body was buffered", line, err)
	}
	close(release)
}

func TestHijack(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	srv := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = m.Session(r.Context()).Put("k", "v")
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack through the middleware: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		buf.Flush()
	})))
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("hijacked body = %q", body)
	}
}

// failingStore fails every call with err.
type failingStore struct {
	sessionkit.Store
	err        error
	failCreate bool
}

func (f failingStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	if f.failCreate {
		return f.Store.Load(ctx, id)
	}
	return nil, f.err
}

func (f failingStore) Create(ctx context.Context, rec *sessionkit.Record) error {
	if f.failCreate {
		return f.err
	}
	return f.Store.Create(ctx, rec)
}

func TestStoreErrors(t *testing.T) {
	base := memstore.New(memstore.Options{})
	defer base.Close()
	good, _ := sessionkit.New(sessionkit.Config{Store: base})
	c := sessionCookie(serve(good, "", func(w http.ResponseWriter, r *http.Request) { _ = good.Session(r.Context()).Put("k", 1) })).Value

	down := fmt.Errorf("%w: dial tcp 127.0.0.1:6379: connection refused", sessionkit.ErrUnavailable)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cases := []struct {
		name   string
		store  failingStore
		cookie string
		want   int
	}{
		{"load unavailable", failingStore{Store: base, err: down}, c, http.StatusServiceUnavailable},
		{"load failed", failingStore{Store: base, err: errors.New("disk on fire")}, c, http.StatusInternalServerError},
		{"create unavailable", failingStore{Store: base, err: down, failCreate: true}, "", http.StatusServiceUnavailable},
		{"create failed", failingStore{Store: base, err: errors.New("constraint"), failCreate: true}, "", http.StatusInternalServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newManager(t, sessionkit.Config{Store: tc.store, Logger: logger})
			called := false
			res := serve(m, tc.cookie, func(w http.ResponseWriter, r *http.Request) {
				called = true
				_ = m.Session(r.Context()).Put("k", 2)
				w.WriteHeader(http.StatusCreated)
				if _, err := w.Write([]byte("secret page")); !errors.Is(err, sessionkit.ErrSaveFailed) {
					t.Errorf("Write after a failed save = %v", err)
				}
			})
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.want || strings.Contains(string(body), "secret page") {
				t.Fatalf("status %d body %q; want %d and the handler's body withheld", res.StatusCode, body, tc.want)
			}
			if sessionCookie(res) != nil {
				t.Fatal("a failed save still set the cookie")
			}
			if tc.cookie != "" && called {
				t.Fatal("the handler ran although the session could not be loaded")
			}
		})
	}
	if strings.Contains(logs.String(), c) {
		t.Fatal("the logs contain a session token")
	}
	if !strings.Contains(logs.String(), "session store failed") {
		t.Fatal("store failures were not logged")
	}
}

func TestEntropyFailureFailsClosed(t *testing.T) {
	// Exercised through the exported API: a Create that never happens is
	// covered by TestTokens; here a custom error handler sees save errors.
	var got error
	m := newManager(t, sessionkit.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "nope", http.StatusTeapot)
	}, Store: failingStore{Store: memstore.New(memstore.Options{CleanupInterval: -1}), err: errors.New("boom"), failCreate: true}})
	res := serve(m, "", func(w http.ResponseWriter, r *http.Request) { _ = m.Session(r.Context()).Put("k", 1) })
	if res.StatusCode != http.StatusTeapot || got == nil {
		t.Fatalf("custom ErrorHandler not used: %d %v", res.StatusCode, got)
	}
}

func TestEvents(t *testing.T) {
	var mu sync.Mutex
	var events []sessionkit.Event
	clock := time.Now()
	var cmu sync.Mutex
	now := func() time.Time { cmu.Lock(); defer cmu.Unlock(); return clock }
	m := newManager(t, sessionkit.Config{Now: now, OnEvent: func(ctx context.Context, e sessionkit.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	put := func(c string, f func(s *sessionkit.Session)) string {
		res := serve(m, c, func(w http.ResponseWriter, r *http.Request) { f(m.Session(r.Context())) })
		if nc := sessionCookie(res); nc != nil {
			return nc.Value
		}
		return c
	}
	c := put("", func(s *sessionkit.Session) { _ = s.SetUserID("u1") })
	c = put(c, func(s *sessionkit.Session) { _ = s.Renew(true) })
	put(c, func(s *sessionkit.Session) { _ = s.Destroy() })
	c = put("", func(s *sessionkit.Session) { _ = s.Put("k", 1) })
	cmu.Lock()
	clock = clock.Add(sessionkit.DefaultIdleTimeout + time.Second)
	cmu.Unlock()
	put(c, func(s *sessionkit.Session) {})
	want := []string{"created u1", "renewed u1", "destroyed u1 destroy", "created ", "expired  idle timeout"}
	var got []string
	for _, e := range events {
		if e.ID == "" || strings.Contains(e.ID, c) {
			t.Errorf("event %v has a bad ID", e)
		}
		got = append(got, strings.TrimSpace(e.Kind.String()+" "+e.UserID+" "+e.Reason))
	}
	for i := range want {
		want[i] = strings.TrimSpace(want[i])
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events = %q; want %q", got, want)
	}
	// Renewed(old, new): the renewal names the store key before and after;
	// the destroy ends the new one.
	if r := events[1]; r.Previous != events[0].ID || r.ID == r.Previous || events[2].ID != r.ID {
		t.Errorf("renewal %+v does not link created %q to destroyed %q", r, events[0].ID, events[2].ID)
	}
	if events[0].Previous != "" {
		t.Errorf("created event has Previous %q", events[0].Previous)
	}
}

func TestSignedCookieValues(t *testing.T) {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	k1, k2 := bytes.Repeat([]byte("1"), 32), bytes.Repeat([]byte("2"), 32)
	m1 := newManager(t, sessionkit.Config{Store: st, Secrets: [][]byte{k1}})
	res := serve(m1, "", func(w http.ResponseWriter, r *http.Request) { _ = m1.Session(r.Context()).Put("k", "v") })
	c := sessionCookie(res).Value
	if !strings.Contains(c, ".") {
		t.Fatalf("signed cookie %q has no signature", c)
	}
	read := func(m *sessionkit.Manager, c string) bool {
		var ok bool
		serve(m, c, func(w http.ResponseWriter, r *http.Request) {
			_, ok, _ = sessionkit.Get[string](m.Session(r.Context()), "k")
		})
		return ok
	}
	rotated := newManager(t, sessionkit.Config{Store: st, Secrets: [][]byte{k2, k1}})
	if !read(rotated, c) {
		t.Fatal("rotation broke existing cookies")
	}
	dropped := newManager(t, sessionkit.Config{Store: st, Secrets: [][]byte{k2}})
	if read(dropped, c) {
		t.Fatal("a cookie signed with a retired secret still works")
	}
	if read(m1, c[:strings.IndexByte(c, '.')]) {
		t.Fatal("an unsigned token works when signing is on")
	}
}

func TestInformationalResponses(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	srv := httptest.NewTLSServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		if err := m.Session(r.Context()).Put("k", 1); err != nil { // still before the real response
			t.Errorf("Put after 103 Early Hints: %v", err)
		}
		w.WriteHeader(http.StatusOK)
	})))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if sessionCookie(res) == nil {
		t.Fatal("an informational response committed the session")
	}
}

func TestNoCacheHeadersWithoutCookie(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	res := serve(m, "", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "public page") })
	if res.Header.Get("Cache-Control") != "" || res.Header.Get("Vary") != "" {
		t.Fatal("a page without a session got session cache headers")
	}
}

func TestStaleCookieCleared(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	res := serve(m, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", func(w http.ResponseWriter, r *http.Request) {})
	c := sessionCookie(res)
	if c == nil || c.MaxAge >= 0 {
		t.Fatalf("a cookie naming no session was not cleared: %v", res.Header["Set-Cookie"])
	}
}

func TestGobCodec(t *testing.T) {
	type point struct{ X, Y int }
	m := newManager(t, sessionkit.Config{Codec: sessionkit.GobCodec{}})
	res := serve(m, "", func(w http.ResponseWriter, r *http.Request) {
		_ = m.Session(r.Context()).Put("p", point{3, 4})
	})
	var got point
	serve(m, sessionCookie(res).Value, func(w http.ResponseWriter, r *http.Request) {
		got, _, _ = sessionkit.Get[point](m.Session(r.Context()), "p")
	})
	if got != (point{3, 4}) {
		t.Fatalf("gob round trip = %+v", got)
	}
}

// recordingWriter notes whether anything was written to the client.
type recordingWriter struct {
	h       http.Header
	written bool
}

func (w *recordingWriter) Header() http.Header         { return w.h }
func (w *recordingWriter) Write(b []byte) (int, error) { w.written = true; return len(b), nil }
func (w *recordingWriter) WriteHeader(int)             { w.written = true }

// TestCanceledIsNotAnOutage checks that a request canceled while its
// session loads or saves gets no answer and no Error log, while a store
// timeout still answers 503.
func TestCanceledIsNotAnOutage(t *testing.T) {
	base := memstore.New(memstore.Options{})
	defer base.Close()
	good := newManager(t, sessionkit.Config{Store: base})
	c := sessionCookie(serve(good, "", func(w http.ResponseWriter, r *http.Request) { _ = good.Session(r.Context()).Put("k", 1) })).Value
	for _, tc := range []struct {
		name     string
		store    failingStore
		cookie   string
		cancel   bool // the request's own context is canceled
		wantCode int  // 0: nothing written
	}{
		{"load canceled", failingStore{Store: base, err: context.Canceled}, c, false, 0},
		{"load wrapped cancel", failingStore{Store: base, err: fmt.Errorf("%w: %w", sessionkit.ErrUnavailable, context.Canceled)}, c, false, 0},
		{"load with request gone", failingStore{Store: base, err: fmt.Errorf("%w: context canceled", sessionkit.ErrUnavailable)}, c, true, 0},
		{"create canceled", failingStore{Store: base, err: context.Canceled, failCreate: true}, "", false, 0},
		{"load deadline", failingStore{Store: base, err: context.DeadlineExceeded}, c, false, http.StatusServiceUnavailable},
		{"create deadline", failingStore{Store: base, err: fmt.Errorf("redis: %w", context.DeadlineExceeded), failCreate: true}, "", false, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			m := newManager(t, sessionkit.Config{Store: tc.store, Logger: logger})
			req := httptest.NewRequest("GET", "https://example.test/", nil)
			if tc.cookie != "" {
				req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+tc.cookie)
			}
			if tc.cancel {
				ctx, cancel := context.WithCancel(req.Context())
				cancel()
				req = req.WithContext(ctx)
			}
			w := &recordingWriter{h: http.Header{}}
			rr := httptest.NewRecorder()
			var out http.ResponseWriter = w
			if tc.wantCode != 0 {
				out = rr
			}
			m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = m.Session(r.Context()).Put("k", 2)
				_, _ = w.Write([]byte("page"))
			})).ServeHTTP(out, req)
			if tc.wantCode == 0 {
				if w.written || len(w.h) != 0 {
					t.Fatalf("a canceled request got an answer: written %v, headers %v", w.written, w.h)
				}
				if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "level=DEBUG") {
					t.Fatalf("a canceled request is not logged at Debug only:\n%s", logs.String())
				}
				return
			}
			if rr.Code != tc.wantCode || !strings.Contains(logs.String(), "level=ERROR") {
				t.Fatalf("status %d, want %d; logs:\n%s", rr.Code, tc.wantCode, logs.String())
			}
		})
	}
}
