package sudo_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessiontest"
	"github.com/sessionkit/sessionkit/sudo"
)

// loginWith returns the cookie of a session of user "u1" authenticated with
// methods.
func loginWith(t *testing.T, m *sessionkit.Manager, methods ...string) string {
	t.Helper()
	res := serve(m, "", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		if err := s.SetUserID("u1"); err != nil {
			t.Fatal(err)
		}
		if err := sudo.MarkAuthenticated(s, methods...); err != nil {
			t.Fatal(err)
		}
	})
	c := sessionCookie(res)
	if c == nil {
		t.Fatal("login set no cookie")
	}
	return c.Value
}

// sudoStatus requests a route behind RequireRecentAuth(15 min) and returns
// the status: 200 through, 303 to the re-auth page.
func sudoStatus(m *sessionkit.Manager, cookie string) int {
	stale := http.RedirectHandler("/reauth", http.StatusSeeOther)
	h := sudo.RequireRecentAuth(m, 15*time.Minute, stale)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest("POST", "https://example.test/password", nil)
	req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
	rr := httptest.NewRecorder()
	m.Middleware(h).ServeHTTP(rr, req)
	return rr.Code
}

func TestRequireRecentAuth(t *testing.T) {
	for _, codec := range []sessionkit.Codec{sessionkit.JSONCodec{}, sessionkit.GobCodec{}} {
		t.Run(fmt.Sprintf("%T", codec), func(t *testing.T) { testRequireRecentAuth(t, codec) })
	}
}

func testRequireRecentAuth(t *testing.T, codec sessionkit.Codec) {
	clock := sessiontest.NewClock()
	m := newManager(t, sessionkit.Config{Now: clock.Now, Codec: codec})
	cookie := loginWith(t, m, sudo.MethodPassword)

	if got := sudoStatus(m, cookie); got != http.StatusOK {
		t.Fatalf("right after login: status %d, want 200", got)
	}
	clock.Advance(15 * time.Minute)
	if got := sudoStatus(m, cookie); got != http.StatusOK {
		t.Fatalf("15 min after login: status %d, want 200", got)
	}
	clock.Advance(5 * time.Minute)
	if got := sudoStatus(m, cookie); got != http.StatusSeeOther {
		t.Fatalf("20 min after login: status %d, want 303 to re-auth", got)
	}

	// Re-authentication makes the session fresh again.
	serve(m, cookie, func(w http.ResponseWriter, r *http.Request) {
		if err := sudo.MarkAuthenticated(m.Session(r.Context()), sudo.MethodPassword); err != nil {
			t.Fatal(err)
		}
	})
	if got := sudoStatus(m, cookie); got != http.StatusOK {
		t.Fatalf("after re-auth: status %d, want 200", got)
	}
}

func TestRememberMeIsNeverFresh(t *testing.T) {
	clock := sessiontest.NewClock()
	m := newManager(t, sessionkit.Config{Now: clock.Now})
	cookie := loginWith(t, m, sudo.MethodRememberMe)
	if got := sudoStatus(m, cookie); got != http.StatusSeeOther {
		t.Fatalf("remember-me session: status %d, want 303 to re-auth", got)
	}
	serve(m, cookie, func(w http.ResponseWriter, r *http.Request) {
		at, methods, ok := sudo.Authentication(m.Session(r.Context()))
		if !ok || !at.Equal(clock.Now()) || len(methods) != 1 || methods[0] != sudo.MethodRememberMe {
			t.Errorf("Authentication() = %v, %v, %v", at, methods, ok)
		}
	})
}

func TestFreshNeedsAnAuthenticationOfTheCurrentUser(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	serve(m, "", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		if sudo.Fresh(s, time.Hour) {
			t.Error("a new session is fresh")
		}
		if err := sudo.MarkAuthenticated(s, sudo.MethodPassword); err == nil {
			t.Error("MarkAuthenticated without a user succeeded")
		}
		if err := s.SetUserID("alice"); err != nil {
			t.Fatal(err)
		}
		if err := sudo.MarkAuthenticated(s); err == nil {
			t.Error("MarkAuthenticated without methods succeeded")
		}
		if err := sudo.MarkAuthenticated(s, sudo.MethodPassword); err != nil {
			t.Fatal(err)
		}
		if !sudo.Fresh(s, time.Minute) {
			t.Error("not fresh right after MarkAuthenticated")
		}
		if sudo.Fresh(s, 0) {
			t.Error("fresh with maxAge 0")
		}
		// Another user taking over the session (Renew(true) + SetUserID)
		// does not inherit alice's authentication.
		if err := s.SetUserID("mallory"); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := sudo.Authentication(s); ok {
			t.Error("mallory inherited alice's authentication")
		}
		if sudo.Fresh(s, time.Minute) {
			t.Error("fresh for a user who never authenticated")
		}
		if err := s.SetUserID("alice"); err != nil {
			t.Fatal(err)
		}
		if err := s.Put("sessionkit.auth", "forged"); err == nil {
			t.Error("Put on the reserved key succeeded")
		}
		if err := s.Clear(); err != nil {
			t.Fatal(err)
		}
		if sudo.Fresh(s, time.Minute) {
			t.Error("fresh after Clear")
		}
	})
	// Without the middleware: never fresh, 403 by default.
	h := sudo.RequireRecentAuth(m, time.Hour, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", "/", nil))
	if rr.Code != http.StatusForbidden {
		t.Errorf("without a session: status %d, want 403", rr.Code)
	}
}

func TestRequireMethods(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	status := func(cookie string) int {
		h := sudo.RequireMethods(m, nil, sudo.MethodPassword, sudo.MethodTOTP)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		req := httptest.NewRequest("GET", "https://example.test/admin", nil)
		req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
		rr := httptest.NewRecorder()
		m.Middleware(h).ServeHTTP(rr, req)
		return rr.Code
	}
	if got := status(loginWith(t, m, sudo.MethodPassword)); got != http.StatusForbidden {
		t.Errorf("password only on a two-factor route: status %d, want 403", got)
	}
	if got := status(loginWith(t, m, sudo.MethodPassword, sudo.MethodTOTP)); got != http.StatusOK {
		t.Errorf("password and TOTP: status %d, want 200", got)
	}
}

func newManager(t *testing.T, cfg sessionkit.Config) *sessionkit.Manager {
	t.Helper()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	cfg.Store = st
	m, err := sessionkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
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

func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == sessionkit.DefaultCookieName {
			return c
		}
	}
	return nil
}

func TestLevel(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	for _, tc := range []struct {
		methods []string
		want    int
	}{
		{[]string{sudo.MethodPassword}, sudo.Level1},
		{[]string{sudo.MethodWebAuthn}, sudo.Level1},
		{[]string{sudo.MethodTOTP}, sudo.Level1},
		{[]string{"sms"}, sudo.Level1},
		{[]string{sudo.MethodPassword, sudo.MethodPassword}, sudo.Level1},
		{[]string{sudo.MethodPassword, "sms"}, sudo.Level1},
		{[]string{sudo.MethodTOTP, sudo.MethodWebAuthn}, sudo.Level1},
		{[]string{sudo.MethodPassword, sudo.MethodTOTP}, sudo.Level2},
		{[]string{sudo.MethodWebAuthn, sudo.MethodPassword}, sudo.Level2},
		{[]string{sudo.MethodRememberMe}, sudo.LevelNone},
		{[]string{sudo.MethodPassword, sudo.MethodTOTP, sudo.MethodRememberMe}, sudo.LevelNone},
	} {
		serve(m, loginWith(t, m, tc.methods...), func(w http.ResponseWriter, r *http.Request) {
			if got := sudo.Level(m.Session(r.Context())); got != tc.want {
				t.Errorf("Level after %v = %d, want %d", tc.methods, got, tc.want)
			}
		})
	}
	serve(m, "", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		if got := sudo.Level(s); got != sudo.LevelNone {
			t.Errorf("Level of a new session = %d, want 0", got)
		}
		if err := s.SetUserID("alice"); err != nil {
			t.Fatal(err)
		}
		if err := sudo.MarkAuthenticated(s, sudo.MethodPassword, sudo.MethodTOTP); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserID("mallory"); err != nil {
			t.Fatal(err)
		}
		if got := sudo.Level(s); got != sudo.LevelNone {
			t.Errorf("Level for another user than the one recorded = %d, want 0", got)
		}
	})
}

func TestRequireLevel(t *testing.T) {
	m := newManager(t, sessionkit.Config{})
	status := func(cookie string, onLow http.Handler) int {
		h := sudo.RequireLevel(m, sudo.Level2, onLow)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		req := httptest.NewRequest("GET", "https://example.test/admin", nil)
		if cookie != "" {
			req.Header.Set("Cookie", sessionkit.DefaultCookieName+"="+cookie)
		}
		rr := httptest.NewRecorder()
		m.Middleware(h).ServeHTTP(rr, req)
		return rr.Code
	}
	if got := status("", nil); got != http.StatusForbidden {
		t.Errorf("no session: status %d, want 403", got)
	}
	if got := status(loginWith(t, m, sudo.MethodPassword), nil); got != http.StatusForbidden {
		t.Errorf("password only: status %d, want 403", got)
	}
	if got := status(loginWith(t, m, sudo.MethodPassword, sudo.MethodTOTP), nil); got != http.StatusOK {
		t.Errorf("password and TOTP: status %d, want 200", got)
	}
	mfa := http.RedirectHandler("/mfa", http.StatusSeeOther)
	if got := status(loginWith(t, m, sudo.MethodPassword), mfa); got != http.StatusSeeOther {
		t.Errorf("password only with onLow: status %d, want 303", got)
	}
}
