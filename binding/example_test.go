package binding_test

import (
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/binding"
	"github.com/sessionkit/sessionkit/memstore"
)

func Example() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	check := binding.New(sessions, binding.Options{
		// Ask for the password again when the browser changes; only
		// report a network or language change.
		Policy: func(r *http.Request, c binding.Change) binding.Action {
			if c.UserAgent {
				return binding.Reauthenticate
			}
			return binding.Alert
		},
		OnChange: func(r *http.Request, c binding.Change, a binding.Action) {
			fmt.Printf("%s: ip changed %v, user agent changed %v\n", a, c.IP, c.UserAgent)
		},
		Reauthenticate: http.RedirectHandler("/reauth", http.StatusSeeOther),
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		_ = sessions.Session(r.Context()).SetUserID("alice")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello ", sessions.Session(r.Context()).UserID())
	})
	// The check goes inside the session middleware.
	handler := sessions.Middleware(check.Middleware(mux))

	send := func(path, remote, ua string, cookies []*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr, r.Header["User-Agent"] = remote, []string{ua}
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w
	}
	login := send("/login", "192.0.2.10:1000", "Firefox/140", nil)
	cookies := login.Result().Cookies()

	w := send("/", "192.0.2.99:1000", "Firefox/140", cookies) // same /24: no change
	fmt.Println(w.Code, w.Body)
	w = send("/", "198.51.100.1:1000", "Firefox/140", cookies)
	fmt.Println(w.Code, w.Body)
	w = send("/", "192.0.2.10:1000", "curl/8", cookies)
	fmt.Println(w.Code, w.Header().Get("Location"))
	// Output:
	// 200 hello alice
	// alert: ip changed true, user agent changed false
	// 200 hello alice
	// reauthenticate: ip changed false, user agent changed true
	// 303 /reauth
}
