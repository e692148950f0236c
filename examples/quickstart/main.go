// Command quickstart is a complete sessionkit program: a home page that
// greets the logged-in user, a login form and a logout button, with sessions
// kept in memory.
package main

import (
	"flag"
	"fmt"
	"html"
	"log"
	"net/http"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()

	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		name, ok, err := sessionkit.Get[string](s, "name")
		if err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if !ok {
			fmt.Fprint(w, `<form method="post" action="/login">
<input name="name" placeholder="Your name" required> <button>Log in</button></form>`)
			return
		}
		fmt.Fprintf(w, `<p>Hello, %s!</p>
<form method="post" action="/logout"><button>Log out</button></form>`, html.EscapeString(name))
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		name := r.PostFormValue("name")
		if name == "" || len(name) > 100 {
			http.Error(w, "name must be 1 to 100 bytes", http.StatusBadRequest)
			return
		}
		// A real application checks a password here.
		s := sessions.Session(r.Context())
		if err := s.Renew(false); err != nil { // new token at login: no session fixation
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		if err := s.SetUserID(name); err != nil { // enables "your devices" and "sign out everywhere"
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		if err := s.Put("name", name); err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessions.Session(r.Context()).Destroy(); err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})

	// CrossOriginProtection refuses form posts from other sites (CSRF).
	handler := http.NewCrossOriginProtection().Handler(sessions.Middleware(mux))
	log.Printf("listening on http://%s/", *addr)
	log.Fatal(http.ListenAndServe(*addr, handler))
}
