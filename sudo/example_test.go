package sudo_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sudo"
)

// A password change behind "sudo mode": it needs an authentication younger
// than 15 minutes, otherwise the user is sent to a page that asks for the
// password again.
func ExampleRequireRecentAuth() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store, Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// (check the password first)
		s := sessions.Session(r.Context())
		if err := s.Renew(false); err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		s.SetUserID("42")
		sudo.MarkAuthenticated(s, sudo.MethodPassword)
	})
	reauth := http.RedirectHandler("/reauth", http.StatusSeeOther)
	recent := sudo.RequireRecentAuth(sessions, 15*time.Minute, reauth)
	mux.Handle("POST /password", recent(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "password changed")
	})))
	handler := sessions.Middleware(mux)

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, httptest.NewRequest("POST", "https://example.com/login", nil))
	cookie := rec.Result().Cookies()[0]
	change := func() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "https://example.com/password", nil)
		req.AddCookie(cookie)
		handler.ServeHTTP(rec, req)
		fmt.Printf("%d %q %q\n", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	change()
	now = now.Add(20 * time.Minute)
	change()
	// Output:
	// 200 "" "password changed\n"
	// 303 "/reauth" ""
}

// An admin area that needs two factors (AAL2): a password login alone is
// answered 403 Forbidden, a login with password and TOTP goes through.
func ExampleRequireLevel() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// (check the password, and the TOTP code if one was sent)
		s := sessions.Session(r.Context())
		if err := s.Renew(false); err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		s.SetUserID("42")
		methods := []string{sudo.MethodPassword}
		if r.FormValue("totp") != "" {
			methods = append(methods, sudo.MethodTOTP)
		}
		sudo.MarkAuthenticated(s, methods...)
		fmt.Fprintln(w, "level", sudo.Level(s))
	})
	aal2 := sudo.RequireLevel(sessions, sudo.Level2, nil)
	mux.Handle("GET /admin", aal2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "admin area")
	})))
	handler := sessions.Middleware(mux)

	for _, login := range []string{"https://example.com/login", "https://example.com/login?totp=123456"} {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("POST", login, nil))
		fmt.Print(rec.Body.String())
		req := httptest.NewRequest("GET", "https://example.com/admin", nil)
		req.AddCookie(rec.Result().Cookies()[0])
		rec = httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Printf("%d %s", rec.Code, rec.Body.String())
	}
	// Output:
	// level 1
	// 403 higher authentication assurance required
	// level 2
	// 200 admin area
}
