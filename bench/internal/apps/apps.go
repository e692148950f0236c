// Package apps builds the benchmark application, the same three endpoints,
// on top of each session library, so that every library does exactly the
// same work per request:
//
//   - /read reads "user" and sets it once, when it is absent;
//   - /write increments the counter "n";
//   - /peek reads "user" and never writes (a visitor without a session).
//
// Each library is reached through the small Lib interface; the baseline,
// None, runs the same handlers without sessions.
package apps

import (
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"
	"github.com/sessionkit/sessionkit"
)

// User is the value /read stores under "user".
const User = "gopher"

// CookieName is the session cookie name every Go library is given.
const CookieName = "sid"

// Lifetime is the idle timeout given to every library (express-session's
// cookie has no Max-Age, and connect-redis keeps a session for a day).
const Lifetime = 30 * time.Minute

// Lib is what the application needs from a session library.
type Lib interface {
	// Wrap returns h behind the library's middleware, if it has one.
	Wrap(h http.Handler) http.Handler
	// String returns the string stored under key and whether it was there.
	String(r *http.Request, key string) (string, bool)
	// Int returns the int stored under key, or 0.
	Int(r *http.Request, key string) int
	// Put stores v under key. It is called before the response is written.
	Put(w http.ResponseWriter, r *http.Request, key string, v any) error
}

// Handler returns the application (/read, /write, /peek) on top of l.
func Handler(l Lib) http.Handler {
	return l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/read":
			user, ok := l.String(r, "user")
			if !ok {
				user = User
				if err := l.Put(w, r, "user", user); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
			w.Write([]byte("hello, " + user))
		case "/write":
			n := l.Int(r, "n") + 1
			if err := l.Put(w, r, "n", n); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Write(strconv.AppendInt(nil, int64(n), 10))
		case "/peek":
			user, ok := l.String(r, "user")
			if !ok {
				user = "guest"
			}
			w.Write([]byte("hello, " + user))
		default:
			http.NotFound(w, r)
		}
	}))
}

// None is the baseline: the same handlers without sessions. Nothing is
// ever stored, so /read stores "user" on every request, into nothing.
type None struct{}

// Wrap implements Lib.
func (None) Wrap(h http.Handler) http.Handler { return h }

// String implements Lib.
func (None) String(*http.Request, string) (string, bool) { return "", false }

// Int implements Lib.
func (None) Int(*http.Request, string) int { return 0 }

// Put implements Lib.
func (None) Put(http.ResponseWriter, *http.Request, string, any) error { return nil }

// Sessionkit adapts a sessionkit.Manager.
type Sessionkit struct{ M *sessionkit.Manager }

// NewSessionkit returns a manager over store or client (exactly one of them
// set) with the benchmark's cookie settings, plain HTTP on loopback.
func NewSessionkit(store sessionkit.Store, client sessionkit.ClientStore) (Sessionkit, error) {
	m, err := sessionkit.New(sessionkit.Config{
		Store:       store,
		ClientStore: client,
		Cookie:      sessionkit.CookieConfig{Name: CookieName, Insecure: true},
		IdleTimeout: Lifetime,
		Logger:      quietLogger,
	})
	return Sessionkit{M: m}, err
}

// Wrap implements Lib.
func (s Sessionkit) Wrap(h http.Handler) http.Handler { return s.M.Middleware(h) }

// String implements Lib.
func (s Sessionkit) String(r *http.Request, key string) (string, bool) {
	v, ok, err := sessionkit.Get[string](s.M.Session(r.Context()), key)
	return v, ok && err == nil
}

// Int implements Lib.
func (s Sessionkit) Int(r *http.Request, key string) int {
	v, _, _ := sessionkit.Get[int](s.M.Session(r.Context()), key)
	return v
}

// Put implements Lib.
func (s Sessionkit) Put(_ http.ResponseWriter, r *http.Request, key string, v any) error {
	return s.M.Session(r.Context()).Put(key, v)
}

// SCS adapts an scs.SessionManager.
type SCS struct{ M *scs.SessionManager }

// NewSCS returns an scs manager over store with the benchmark's cookie
// settings.
func NewSCS(store scs.Store) SCS {
	m := scs.New()
	m.Store = store
	m.IdleTimeout = Lifetime
	m.Lifetime = 24 * time.Hour
	m.Cookie.Name = CookieName
	m.Cookie.Secure = false
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	return SCS{M: m}
}

// Wrap implements Lib.
func (s SCS) Wrap(h http.Handler) http.Handler { return s.M.LoadAndSave(h) }

// String implements Lib.
func (s SCS) String(r *http.Request, key string) (string, bool) {
	v := s.M.GetString(r.Context(), key)
	return v, v != ""
}

// Int implements Lib.
func (s SCS) Int(r *http.Request, key string) int { return s.M.GetInt(r.Context(), key) }

// Put implements Lib.
func (s SCS) Put(_ http.ResponseWriter, r *http.Request, key string, v any) error {
	s.M.Put(r.Context(), key, v)
	return nil
}

// Gorilla adapts a gorilla/sessions CookieStore. Gorilla has no
// middleware: the handler gets the session and saves it itself.
type Gorilla struct{ S *sessions.CookieStore }

// NewGorilla returns a CookieStore that authenticates (HMAC-SHA256) and
// encrypts (AES-256) its cookies, like cookiestore does.
func NewGorilla(hashKey, blockKey []byte) Gorilla {
	s := sessions.NewCookieStore(hashKey, blockKey)
	s.Options = &sessions.Options{Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	s.MaxAge(int(Lifetime / time.Second))
	return Gorilla{S: s}
}

// Wrap implements Lib.
func (g Gorilla) Wrap(h http.Handler) http.Handler { return h }

func (g Gorilla) session(r *http.Request) *sessions.Session {
	// An invalid cookie gives a new session, as with the other libraries.
	s, _ := g.S.Get(r, CookieName)
	return s
}

// String implements Lib.
func (g Gorilla) String(r *http.Request, key string) (string, bool) {
	v, ok := g.session(r).Values[key].(string)
	return v, ok
}

// Int implements Lib.
func (g Gorilla) Int(r *http.Request, key string) int {
	v, _ := g.session(r).Values[key].(int)
	return v
}

// Put implements Lib.
func (g Gorilla) Put(w http.ResponseWriter, r *http.Request, key string, v any) error {
	s := g.session(r)
	s.Values[key] = v
	return s.Save(r, w)
}

// quietLogger drops sessionkit's warning about the plain-HTTP cookie but
// keeps errors.
var quietLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
