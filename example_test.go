package sessionkit_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
)

func Example() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		if err := s.Renew(false); err != nil { // a new token at every login
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		s.SetUserID("42")
		s.Put("name", "Gopher")
		s.AddFlash("success", "Welcome back!")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		name, ok, err := sessionkit.Get[string](s, "name")
		if err != nil || !ok {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		flashes, _ := s.Flashes()
		for _, f := range flashes {
			fmt.Fprintf(w, "[%s] %s\n", f.Kind, f.Message)
		}
		fmt.Fprintf(w, "Hello, %s!\n", name)
	})
	handler := sessions.Middleware(mux)

	// Log in, then follow the redirect with the cookie the server set.
	login := httptest.NewRecorder()
	handler.ServeHTTP(login, httptest.NewRequest("POST", "https://example.com/login", nil))
	cookie := login.Result().Cookies()[0]
	fmt.Println(cookie.Name, cookie.Secure, cookie.HttpOnly, cookie.SameSite == http.SameSiteLaxMode)

	home := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://example.com/", nil)
	req.AddCookie(cookie)
	handler.ServeHTTP(home, req)
	fmt.Print(home.Body.String())
	// Output:
	// __Host-sid true true true
	// [success] Welcome back!
	// Hello, Gopher!
}

func ExampleGet() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, _ := sessionkit.New(sessionkit.Config{Store: store})

	type cart struct {
		Items []string `json:"items"`
		Total int      `json:"total"`
	}
	h := sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		s.Put("cart", cart{Items: []string{"gopher plush"}, Total: 1999})
		c, ok, err := sessionkit.Get[cart](s, "cart")
		fmt.Println(c.Items, c.Total, ok, err)
		_, _, err = sessionkit.Get[int](s, "cart")
		fmt.Println(err != nil)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://example.com/", nil))
	// Output:
	// [gopher plush] 1999 true <nil>
	// true
}

func ExampleSession_RevokeOtherSessions() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, _ := sessionkit.New(sessionkit.Config{Store: store})

	// "Sign out everywhere else": every other session of the user ends.
	h := sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		n, err := s.RevokeOtherSessions()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "signed out %d other sessions", n)
	}))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("POST", "https://example.com/sessions/revoke-others", nil))
	fmt.Println(rr.Code, rr.Body.String())
	// Output:
	// 400 sessionkit: session has no user
}

func ExampleManager_Iterate() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, _ := sessionkit.New(sessionkit.Config{Store: store})
	login := sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = sessions.Session(r.Context()).SetUserID(r.URL.Query().Get("user"))
	}))
	for _, user := range []string{"alice", "bob", "alice"} {
		login.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "https://example.com/login?user="+user, nil))
	}

	// An operator tool: count the live sessions of each user.
	perUser := map[string]int{}
	err := sessions.Iterate(context.Background(), func(info sessionkit.SessionInfo) bool {
		perUser[info.UserID]++
		return true // false stops the iteration
	})
	fmt.Println(perUser, err)
	// Output:
	// map[alice:2 bob:1] <nil>
}

func ExampleManager_Sweep() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	now := time.Now()
	sessions, _ := sessionkit.New(sessionkit.Config{
		Store: store,
		Now:   func() time.Time { return now }, // a clock the example moves
		OnEvent: func(_ context.Context, e sessionkit.Event) {
			if e.Kind == sessionkit.EventExpired {
				fmt.Println("expired:", e.UserID, e.Reason)
			}
		},
	})
	login := sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = sessions.Session(r.Context()).SetUserID("alice")
	}))
	login.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "https://example.com/login", nil))

	// Alice never comes back. In an application a ticker runs Sweep,
	// more often than the store's KeepExpired.
	now = now.Add(sessionkit.DefaultIdleTimeout)
	n, err := sessions.Sweep(context.Background())
	fmt.Println("removed", n, err)
	// Output:
	// expired: alice idle timeout
	// removed 1 <nil>
}
