package cookiestore_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/cookiestore/revocationstest"
	"github.com/sessionkit/sessionkit/sessiontest"
)

func TestConformance(t *testing.T) {
	sessiontest.RunClient(t, sessiontest.ClientOptions{
		New: func(t *testing.T, now func() time.Time) sessionkit.ClientStore {
			st, err := cookiestore.New(cookiestore.Options{
				Keys:        [][]byte{bytes.Repeat([]byte("k"), 32)},
				Now:         now,
				Revocations: cookiestore.NewMemoryRevocations(now),
			})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	})
}

// TestRotationThroughMiddleware checks that a cookie sealed with a retired
// key still opens and comes back sealed with the current key.
func TestRotationThroughMiddleware(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte("o"), 32), bytes.Repeat([]byte("n"), 32)
	manager := func(keys ...[]byte) *sessionkit.Manager {
		st, err := cookiestore.New(cookiestore.Options{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		m, err := sessionkit.New(sessionkit.Config{ClientStore: st})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	do := func(m *sessionkit.Manager, cookie string, f func(*sessionkit.Session)) *http.Cookie {
		req := httptest.NewRequest("GET", "https://example.test/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
		}
		rr := httptest.NewRecorder()
		m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(m.Session(r.Context())) })).ServeHTTP(rr, req)
		for _, c := range rr.Result().Cookies() {
			return c
		}
		return nil
	}
	before := do(manager(oldKey), "", func(s *sessionkit.Session) { _ = s.Put("user", "gopher") })
	rotated := manager(newKey, oldKey)
	var user string
	after := do(rotated, before.Value, func(s *sessionkit.Session) { user, _, _ = sessionkit.Get[string](s, "user") })
	if user != "gopher" {
		t.Fatal("a cookie sealed with the retired key no longer opens")
	}
	if after == nil || after.Value == before.Value {
		t.Fatal("the cookie was not re-sealed with the current key")
	}
	var again string
	do(manager(newKey), after.Value, func(s *sessionkit.Session) { again, _, _ = sessionkit.Get[string](s, "user") })
	if again != "gopher" {
		t.Fatal("the re-sealed cookie does not open with the current key alone")
	}
}

func TestMemoryRevocationsConformance(t *testing.T) {
	revs := cookiestore.NewMemoryRevocations(nil)
	revocationstest.Run(t, revocationstest.Options{
		New:        func(*testing.T) cookiestore.Revocations { return revs },
		PerProcess: true,
	})
}
