package guessing_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/guessing"
)

// prober returns a handler behind d whose every request reports one
// rejected token, as Manager.Middleware does for a bad cookie.
func prober(d *guessing.Detector) http.Handler {
	return d.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.OnEvent(r.Context(), sessionkit.Event{Kind: sessionkit.EventRejected, Reason: sessionkit.RejectedForged})
	}))
}

func probe(h http.Handler, remote string) int {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func TestWindowAndBlockEnd(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var alerts atomic.Int32
	d := guessing.New(guessing.Options{Threshold: 5, Window: time.Minute, Block: 10 * time.Minute, Now: c.Now,
		OnAlert: func(context.Context, guessing.Alert) { alerts.Add(1) }})
	h := prober(d)
	const ip = "192.0.2.1:1"
	// Five per window, window after window: never blocked.
	for range 3 {
		for range 5 {
			if code := probe(h, ip); code != http.StatusOK {
				t.Fatalf("status %d within the threshold", code)
			}
		}
		c.Add(time.Minute)
	}
	if alerts.Load() != 0 {
		t.Fatalf("%d alerts within the threshold", alerts.Load())
	}
	for range 6 {
		probe(h, ip)
	}
	if code := probe(h, ip); code != http.StatusTooManyRequests {
		t.Fatalf("after 6 in a window: status %d; want 429", code)
	}
	c.Add(10*time.Minute - time.Second)
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = ip
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Errorf("1 s before the block ends: %d, Retry-After %q; want 429, 1", w.Code, w.Header().Get("Retry-After"))
	}
	c.Add(time.Second)
	// The block ended: a fresh count starts, and a second alert needs a
	// second crossing.
	for i := range 6 {
		if code := probe(h, ip); code != http.StatusOK {
			t.Fatalf("after the block, probe %d: status %d", i, code)
		}
	}
	if alerts.Load() != 2 {
		t.Errorf("%d alerts; want 2", alerts.Load())
	}
}

func TestAlertOnly(t *testing.T) {
	var got []guessing.Alert
	d := guessing.New(guessing.Options{Threshold: 2, AlertOnly: true,
		OnAlert: func(_ context.Context, a guessing.Alert) { got = append(got, a) }})
	h := prober(d)
	for i := range 50 {
		if code := probe(h, "192.0.2.1:1"); code != http.StatusOK {
			t.Fatalf("probe %d: status %d with AlertOnly", i, code)
		}
	}
	if len(got) != 1 || !got[0].Until.IsZero() || got[0].Rejected[sessionkit.RejectedForged] != 3 {
		t.Errorf("alerts = %+v; want one, 3 forged, no block", got)
	}
}

// TestWithoutMiddleware: a rejection reported outside the Detector's
// middleware (wrong order of the middlewares) counts for nobody.
func TestWithoutMiddleware(t *testing.T) {
	d := guessing.New(guessing.Options{Threshold: 1})
	for range 10 {
		d.OnEvent(context.Background(), sessionkit.Event{Kind: sessionkit.EventRejected, Reason: sessionkit.RejectedForged})
	}
	h := d.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.OnEvent(r.Context(), sessionkit.Event{Kind: sessionkit.EventCreated})
		d.OnEvent(r.Context(), sessionkit.Event{Kind: sessionkit.EventExpired})
	}))
	for range 10 {
		if code := probe(h, "192.0.2.1:1"); code != http.StatusOK {
			t.Fatalf("status %d: events other than EventRejected were counted", code)
		}
	}
}

// TestMaxClients: a flood of distinct clients stays within MaxClients and
// does not make the detector forget a blocked client.
func TestMaxClients(t *testing.T) {
	d := guessing.New(guessing.Options{Threshold: 3, MaxClients: 16})
	h := prober(d)
	for range 4 {
		probe(h, "203.0.113.9:1")
	}
	for i := range 5000 {
		probe(h, fmt.Sprintf("10.%d.%d.%d:1", i>>16, (i>>8)&255, i&255))
	}
	if n := d.Len(); n > 16 {
		t.Errorf("tracking %d clients; want at most 16", n)
	}
	if code := probe(h, "203.0.113.9:1"); code != http.StatusTooManyRequests {
		t.Errorf("blocked client after the flood: status %d; want 429", code)
	}
}

// TestConcurrent: parallel probes from one client raise exactly one alert.
func TestConcurrent(t *testing.T) {
	var alerts atomic.Int32
	d := guessing.New(guessing.Options{Threshold: 50, OnAlert: func(context.Context, guessing.Alert) { alerts.Add(1) }})
	h := prober(d)
	var wg sync.WaitGroup
	var limited atomic.Int32
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				if probe(h, "192.0.2.1:1") == http.StatusTooManyRequests {
					limited.Add(1)
				}
				probe(h, fmt.Sprintf("198.51.100.%d:1", (g*100+i)%200))
			}
		})
	}
	wg.Wait()
	if alerts.Load() != 1 {
		t.Errorf("%d alerts; want 1", alerts.Load())
	}
	// Up to 51 probes count before the block; the other 7 goroutines may
	// each have one probe past the check when it comes.
	if limited.Load() < 800-51-7 {
		t.Errorf("%d of 800 limited; want at least %d", limited.Load(), 800-51-7)
	}
}

func TestCustomKeyAndBlockedHandler(t *testing.T) {
	d := guessing.New(guessing.Options{Threshold: 1,
		Key: func(r *http.Request) string { return r.Header.Get("X-Client") },
		Blocked: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		})})
	h := prober(d)
	send := func(client string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Client", client)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for range 5 {
		send("")
	}
	if w := send(""); w.Code != http.StatusOK {
		t.Errorf("empty key: status %d; want 200 (not tracked)", w.Code)
	}
	send("a")
	send("a")
	if w := send("a"); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Errorf("blocked: %d, Retry-After %q; want the Blocked handler's 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := send("b"); w.Code != http.StatusOK {
		t.Errorf("other key: status %d", w.Code)
	}
}
