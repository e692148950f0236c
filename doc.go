// Package sessionkit manages HTTP sessions for net/http servers.
// docs/ARCHITECTURE.md maps the request path through the files.
//
// A Manager holds the configuration and a store. Its Middleware loads the
// session named by the request's cookie, hands it to the handler through the
// request context, and saves it just before the response starts, without
// buffering the body:
//
//	store := memstore.New(memstore.Options{})
//	defer store.Close()
//	sessions, err := sessionkit.New(sessionkit.Config{Store: store})
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux := http.NewServeMux()
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		s := sessions.Session(r.Context())
//		s.Renew(false)           // new token on every login (no fixation)
//		s.SetUserID("42")        // for "your devices" and "sign out everywhere"
//		s.Put("name", "Gopher")
//		http.Redirect(w, r, "/", http.StatusSeeOther)
//	})
//	http.ListenAndServe(":8080", sessions.Middleware(mux))
//
// # Security defaults
//
// Tokens carry 256 bits from crypto/rand. Stores receive only the SHA-256 of
// a token (see HashToken), so a dump of any store yields no usable cookie.
// Config.Secrets additionally signs the cookie value; Config.Tokens replaces
// the whole token scheme (package express provides express-session's). A
// token the server did not issue, or one that expired, is never adopted: the
// request gets a new, empty session, and a new token if it stores anything;
// the manager reports it (EventRejected, reason RejectedForged or
// RejectedUnknown, or EventExpired) and logs it at Info, without the value.
// When a request carries several cookies of the session's name (a shadowing
// cookie from a sibling subdomain or another path), the first of up to five
// that names a live session wins, and the cookie is expired only when none
// does. Creation, renewal and expiry are logged at Info through
// Config.Logger with the user ID, client IP and User-Agent, never the token.
// The cookie is named __Host-sid and is Secure, HttpOnly, SameSite=Lax,
// Path=/, without Domain; contradictory settings are refused by New. Every
// response that sets the cookie carries Cache-Control: no-store and Vary:
// Cookie.
//
// # Expiry
//
// Sessions end after IdleTimeout without activity (default 30 minutes) and
// Lifetime after their creation or last Renew (default 24 hours). The
// manager alone decides, with its own clock (Config.Now), on every load,
// listing (UserSessions) and iteration (Iterate); a store's TTL or cleanup
// only collects garbage. Remember-me sessions (Session.RememberMe) use
// RememberMeIdleTimeout (7 days) and RememberMeLifetime (30 days) and get a
// persistent cookie whose Max-Age follows the server-side expiry. Sliding
// the idle deadline writes to the store at most once per TouchInterval
// (default 1 minute), with Store.Touch, which never rewrites the values; so
// the idle timeout is accurate to within TouchInterval.
//
// # Concurrency
//
// A request saves only what it changed (a Delta), so two overlapping
// requests that change different keys both survive. A save that arrives
// after a parallel request destroyed or renewed the session changes
// nothing and leaves the cookie alone, since the browser may already hold
// the renewed one; stores never recreate a record on update. With
// Config.RenewGrace, the old token of a renewed session reads the session
// until the grace ends, a deadline no later request extends, and cannot
// change it (ErrRenewed).
//
// # Sessions per user
//
// Config.MaxSessionsPerUser holds each user to a number of live sessions.
// Session.SetUserID then links the session in the store at once, through
// the store's SessionLimiter, which counts the user's live sessions (by the
// manager's clock) and links in one atomic step, so concurrent logins on
// several instances cannot exceed the limit. Under EvictOldest (the
// default) the oldest sessions end, each reported as EventDestroyed with
// Reason ReasonSessionLimit; under RejectNew, SetUserID returns
// ErrTooManySessions and the session stays unlinked.
//
// # Sudo mode and remember-me
//
// Session.MarkAuthenticated, called at every login after Renew and
// SetUserID, records when and how (MethodPassword, MethodTOTP, …) the user
// authenticated, as a reserved session value. Session.Fresh(maxAge) and
// Manager.RequireRecentAuth guard sensitive actions such as a password
// change ("sudo mode"); Session.AuthenticatedWith and
// Manager.RequireMethods require methods such as a second factor. A session
// started from a remember-me token (MethodRememberMe, package remember) is
// never fresh. Package remember keeps "remember me" out of the session: a
// rotating, hashed selector.validator token with theft detection that
// starts a new session instead of keeping one alive for weeks.
//
// # Stores
//
// Server-side stores implement Store, and optionally UserIndex (list and end
// a user's sessions), Iterator (Manager.Iterate) and SessionLimiter
// (Config.MaxSessionsPerUser). Client stores implement
// ClientStore, and optionally Resealer, UserRevoker and CookieNamer. Package
// memstore is in this module; Redis, MongoDB, PostgreSQL and SQLite stores
// are separate modules, so an application pulls in only the driver it uses.
// Package cookiestore keeps the whole session in an encrypted cookie
// (Config.ClientStore). Package sessiontest is the conformance suite every
// store runs.
package sessionkit
