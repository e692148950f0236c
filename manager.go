package sessionkit

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"time"
)

// Manager loads, saves and ends sessions. Create one with New and share it;
// it is safe for concurrent use.
type Manager struct {
	cfg   Config  // normalized: every default filled in
	store backend // Config.Store or Config.ClientStore
	exp   timeouts
	ev    events
	key   *int // context key, unique per manager
}

// New checks cfg and returns a Manager. It rejects configurations that
// contradict themselves, such as a __Host- cookie with a Domain or
// SameSite=None without Secure.
func New(cfg Config) (*Manager, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	logKey := cfg.LogKey
	if len(logKey) == 0 {
		logKey = make([]byte, 32)
		rand.Read(logKey) // never fails (crypto/rand)
	}
	m := &Manager{cfg: cfg, ev: events{cfg.Logger, cfg.OnEvent, logKey}, key: new(int), exp: timeouts{
		idle: cfg.IdleTimeout, lifetime: cfg.Lifetime, touch: cfg.TouchInterval, grace: cfg.RenewGrace,
		rememberIdle: cfg.RememberMeIdleTimeout, rememberLifetime: cfg.RememberMeLifetime,
	}}
	if cfg.ClientStore != nil {
		m.exp.grace = 0 // a client store revokes the old cookie at once
		m.store = clientStore{cfg.ClientStore}
	} else {
		m.store = serverStore{cfg.Store, cfg.Tokens, m.exp}
	}
	if cfg.Cookie.Insecure {
		m.cfg.Logger.Warn("sessionkit: session cookie is not Secure; use this only for plain-HTTP development", "cookie", cfg.Cookie.Name)
	}
	return m, nil
}

// Lookup returns the live session that r's session cookie names, reading
// it only: it writes nothing to the store, sets no cookie, reports no
// event and slides no deadline. found is false when no cookie names a live
// session (a forged, unknown or expired one is left for the next request
// through Middleware to report). It serves code that runs outside
// Middleware, such as the log line of a request refused before any
// handler runs; name the session there with LogID(info.ID).
func (m *Manager) Lookup(r *http.Request) (info SessionInfo, found bool, err error) {
	var buf [maxCookieValues]string
	values := cookieValues(buf[:0], r.Header, m.cfg.Cookie.Name)
	o, err := m.firstLive(r.Context(), values, m.cfg.Now(), nil)
	if o.rec == nil || err != nil {
		return SessionInfo{}, false, err
	}
	return o.rec.Info(), true, nil
}

// firstLive opens the session cookie values of a request in order and
// returns what the first that names a session alive at now holds: when a
// request carries several cookies of the name (a shadowing cookie from a
// sibling domain or path comes first), none hides the real one. dead, if
// not nil, is called with each value that names no session (rec nil) or
// an ended one, and its error stops the search. The result's rec is nil
// when no value names a live session.
func (m *Manager) firstLive(ctx context.Context, values []string, now time.Time, dead func(opened) error) (opened, error) {
	for _, value := range values {
		o, err := m.store.open(ctx, value)
		if err != nil {
			return opened{}, err
		}
		if o.rec != nil && m.exp.ended(o.rec, now) == "" {
			return o, nil
		}
		if dead != nil {
			if err := dead(o); err != nil {
				return opened{}, err
			}
		}
	}
	return opened{}, nil
}

// LogID returns the identifier under which the manager's log lines name s,
// a store key (Session.ID, SessionInfo.ID), for lines of your own that
// must link up with them; or any other value that lines must link without
// holding it, such as the name typed at a failed login. It is the first 16
// hex digits of HMAC-SHA256 under Config.LogKey over s ("" for ""),
// computed only when a handler formats the line.
func (m *Manager) LogID(s string) slog.LogValuer { return m.ev.id(s) }
