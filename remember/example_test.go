package remember_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/sudo"
)

func Example() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	rm, err := remember.New(remember.Config{Sessions: sessions, Store: remember.NewMemoryStore()})
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
		if r.FormValue("remember") != "" {
			if err := rm.Issue(w, r, "42"); err != nil {
				http.Error(w, "session error", http.StatusInternalServerError)
			}
		}
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		_, methods, _ := sudo.Authentication(s)
		fmt.Fprintf(w, "user %q via %v", s.UserID(), methods)
	})
	handler := sessions.Middleware(rm.Middleware(mux))

	login := httptest.NewRecorder()
	handler.ServeHTTP(login, httptest.NewRequest("POST", "https://example.com/login?remember=on", nil))
	var token *http.Cookie
	for _, c := range login.Result().Cookies() {
		if c.Name == remember.DefaultCookieName {
			token = c
		}
	}

	// After a browser restart only the remember-me cookie is left.
	home := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.AddCookie(token)
	handler.ServeHTTP(home, req)
	fmt.Println(home.Body.String())
	for _, c := range home.Result().Cookies() {
		fmt.Println(c.Name, c.Value != token.Value)
	}
	// Output:
	// user "42" via [remember-me]
	// __Host-remember true
	// __Host-sid true
}
