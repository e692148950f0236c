// Package sessionkit manages HTTP sessions for net/http servers.
//
// A Manager holds the configuration and a store. Its Middleware loads the
// session named by the request's cookie, hands it to the handler through
// the request context (Manager.Session), and saves only what the handler
// changed just before the response starts, without buffering the body:
//
//	sessions, err := sessionkit.New(sessionkit.Config{Store: memstore.New(memstore.Options{})})
//	...
//	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//		s := sessions.Session(r.Context())
//		s.Renew(false)    // a new token at every login (no fixation)
//		s.SetUserID("42") // for "your devices" and "sign out everywhere"
//		s.Put("name", "Gopher")
//	})
//	http.ListenAndServe(":8080", sessions.Middleware(mux))
//
// Tokens carry 256 bits from crypto/rand, and stores see only their SHA-256
// (HashToken). A token the server did not issue, or one that expired, is
// never adopted. The cookie defaults to __Host-sid, Secure, HttpOnly,
// SameSite=Lax. Sessions end after IdleTimeout without activity and
// Lifetime after their creation or last Renew, decided by the manager's own
// clock (Config.Now). Every end of a session is reported to Config.OnEvent
// once: EventDestroyed for Destroy and revocations, EventExpired for a
// session found expired by a request, a revocation or Manager.Sweep, which
// an application runs on a ticker to report the sessions no request
// presents again. Stores implement Store and optional capabilities
// (UserIndex, Iterator, SessionLimiter, Remover), or ClientStore (package
// cookiestore); package sessiontest is their conformance suite. Package
// sudo adds "sudo mode", package remember a remember-me token.
//
// docs/ARCHITECTURE.md maps the request path through the files.
package sessionkit
