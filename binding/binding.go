// Package binding compares each request with what its session recorded at
// creation (the client's network, User-Agent and Accept-Language; see
// sessionkit.DefaultMetadata) and lets a policy decide what a change means:
// nothing, an alert, a new password entry, or the end of the session.
//
// It is off until a Policy is set: without one, the middleware checks
// nothing. Client properties change for honest reasons (mobile networks,
// proxies, browser updates), so a policy usually alerts, or asks for the
// password again (step-up), rather than ending the session:
//
//	check := binding.New(sessions, binding.Options{
//		Policy: func(r *http.Request, c binding.Change) binding.Action {
//			if c.UserAgent {
//				return binding.Reauthenticate
//			}
//			return binding.Alert
//		},
//		OnChange:       logChange,
//		Reauthenticate: http.RedirectHandler("/reauth", http.StatusSeeOther),
//	})
//	handler := sessions.Middleware(check.Middleware(mux))
//
// The middleware goes INSIDE Manager.Middleware. Options.Metadata must
// describe requests as Config.Metadata does (both default to
// sessionkit.DefaultMetadata; behind a proxy, pass the same function to
// both).
//
// After the user re-authenticated, call Checker.Accept: the session is then
// compared with the request that re-authenticated instead of with its
// creation. Mount the re-authentication route outside the Checker's
// middleware (or have the policy allow it), or a changed client can never
// reach it.
package binding

import (
	"net/http"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/clientip"
)

// Action is what the middleware does about a change.
type Action int

// The actions a Policy returns, from the mildest.
const (
	// Allow serves the request as usual.
	Allow Action = iota
	// Alert calls Options.OnChange, then serves the request as usual.
	Alert
	// Reauthenticate calls Options.OnChange and hands the request to
	// Options.Reauthenticate instead of the handler; the session is kept.
	Reauthenticate
	// Destroy calls Options.OnChange, ends the session (Session.Destroy)
	// and serves the request as an anonymous one: the handler sees a new,
	// empty session (a signed-in page then asks for a login as for any
	// visitor), and the response expires the cookie.
	Destroy
)

// String returns the action's name, such as "reauthenticate".
func (a Action) String() string {
	if a >= Allow && a <= Destroy {
		return [...]string{"allow", "alert", "reauthenticate", "destroy"}[a]
	}
	return "unknown"
}

// Change says what differs between a request and its session's binding.
// Only properties that the binding recorded are compared: a session created
// before Accept-Language was recorded never has a language change.
type Change struct {
	// IP is set when the client's network differs: its address outside
	// the prefix of Options.IPv4Prefix or IPv6Prefix bits, or of another
	// family.
	IP bool
	// UserAgent is set when the User-Agent header differs.
	UserAgent bool
	// Language is set when the Accept-Language header differs.
	Language bool
	// Recorded and Current are the bound properties ("ip", "ua", "lang")
	// of the session and of the request.
	Recorded, Current map[string]string
}

// Policy decides what to do about a change. It is called only when at
// least one property differs.
type Policy func(r *http.Request, c Change) Action

// Defaults of Options.
const (
	DefaultIPv4Prefix = 24
	DefaultIPv6Prefix = 64
)

// AcceptedKey is the session value under which Accept records the
// properties the session is bound to from then on.
const AcceptedKey = "binding.accepted"

// Options configures a Checker.
type Options struct {
	// Policy decides what a change means. Nil turns the check off.
	Policy Policy
	// OnChange, if set, is called for every change the policy answers
	// with Alert, Reauthenticate or Destroy, with the action, before the
	// action runs. It runs on the request's goroutine.
	OnChange func(r *http.Request, c Change, a Action)
	// Reauthenticate answers the requests the policy sends to
	// re-authentication, for example with a redirect to a password form
	// that calls Accept when the password is right. Nil answers 401
	// Unauthorized.
	Reauthenticate http.Handler
	// Metadata describes the current request as Config.Metadata described
	// the session's first one (default sessionkit.DefaultMetadata).
	Metadata func(*http.Request) map[string]string
	// IPv4Prefix and IPv6Prefix are the prefix lengths within which an
	// address change is not a change (defaults DefaultIPv4Prefix and
	// DefaultIPv6Prefix).
	IPv4Prefix, IPv6Prefix int
}

// Checker compares requests with their session's binding. Create it with
// New; it is safe for concurrent use.
type Checker struct {
	m    *sessionkit.Manager
	opts Options
}

// New returns a Checker for the sessions of m.
func New(m *sessionkit.Manager, opts Options) *Checker {
	if opts.Metadata == nil {
		opts.Metadata = sessionkit.DefaultMetadata
	}
	if opts.Reauthenticate == nil {
		opts.Reauthenticate = http.HandlerFunc(unauthorized)
	}
	if opts.IPv4Prefix <= 0 {
		opts.IPv4Prefix = DefaultIPv4Prefix
	}
	if opts.IPv6Prefix <= 0 {
		opts.IPv6Prefix = DefaultIPv6Prefix
	}
	return &Checker{m: m, opts: opts}
}

func unauthorized(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "Please sign in again.", http.StatusUnauthorized)
}

// bound are the properties compared, as keys of the metadata.
var bound = [...]string{"ip", "ua", "lang"}

// Middleware checks each request that has a stored session against its
// binding and carries out the policy's action. Place it inside
// Manager.Middleware.
func (c *Checker) Middleware(next http.Handler) http.Handler {
	if c.opts.Policy == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.m.Session(r.Context())
		ch, changed := c.compare(s, r)
		if !changed {
			next.ServeHTTP(w, r)
			return
		}
		a := c.opts.Policy(r, ch)
		if a != Allow && c.opts.OnChange != nil {
			c.opts.OnChange(r, ch, a)
		}
		switch a {
		case Allow, Alert:
			next.ServeHTTP(w, r)
		case Destroy:
			if err := s.Destroy(); err != nil {
				// Fail closed: the session may still be live.
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		default: // Reauthenticate, and any unknown action: fail closed
			c.opts.Reauthenticate.ServeHTTP(w, r)
		}
	})
}

// compare returns how r differs from the binding of its session s, and
// whether it differs at all; a session not stored yet has no binding.
func (c *Checker) compare(s *sessionkit.Session, r *http.Request) (Change, bool) {
	rec := s.Meta()
	if rec == nil {
		return Change{}, false
	}
	if accepted, ok, err := sessionkit.Get[map[string]string](s, AcceptedKey); err == nil && ok {
		rec = accepted
	}
	cur := c.opts.Metadata(r)
	var ch Change
	if old, ok := rec["ip"]; ok {
		ch.IP = !c.sameNetwork(old, cur["ip"])
	}
	if old, ok := rec["ua"]; ok {
		ch.UserAgent = old != cur["ua"]
	}
	if old, ok := rec["lang"]; ok {
		ch.Language = old != cur["lang"]
	}
	if !ch.IP && !ch.UserAgent && !ch.Language {
		return Change{}, false
	}
	ch.Recorded, ch.Current = pick(rec), pick(cur)
	return ch, true
}

// sameNetwork reports whether the addresses a and b lie in one network of
// the configured prefix lengths.
func (c *Checker) sameNetwork(a, b string) bool {
	pa, oka := clientip.Network(a, c.opts.IPv4Prefix, c.opts.IPv6Prefix)
	pb, okb := clientip.Network(b, c.opts.IPv4Prefix, c.opts.IPv6Prefix)
	if !oka || !okb {
		return a == b
	}
	return pa == pb
}

// pick returns the bound properties of meta.
func pick(meta map[string]string) map[string]string {
	out := make(map[string]string, len(bound))
	for _, k := range bound {
		if v, ok := meta[k]; ok {
			out[k] = v
		}
	}
	return out
}

// Accept binds the session of the request to the request's current
// properties: later requests are compared with these instead of the ones
// recorded at creation. Call it once the user re-authenticated after a
// Reauthenticate. It returns the session's error, such as ErrNoSession
// outside Manager.Middleware.
func (c *Checker) Accept(r *http.Request) error {
	return c.m.Session(r.Context()).Put(AcceptedKey, pick(c.opts.Metadata(r)))
}
