package sessionkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Default values used when a Config field is zero.
const (
	DefaultCookieName            = "__Host-sid"
	DefaultInsecureCookieName    = "sid"
	DefaultExpressCookieName     = "connect.sid"
	DefaultIdleTimeout           = 30 * time.Minute
	DefaultLifetime              = 24 * time.Hour
	DefaultRememberMeLifetime    = 30 * 24 * time.Hour
	DefaultRememberMeIdleTimeout = 7 * 24 * time.Hour
	DefaultTouchInterval         = time.Minute
)

// Config configures a Manager. The zero value of every field but Store (or
// ClientStore) picks a safe default.
type Config struct {
	// Store keeps sessions on the server. Exactly one of Store and
	// ClientStore must be set.
	Store Store
	// ClientStore keeps sessions in the cookie itself (see package
	// cookiestore).
	ClientStore ClientStore

	// Cookie sets the session cookie's name and attributes.
	Cookie CookieConfig

	// IdleTimeout ends a session that saw no activity for this long
	// (default 30 minutes).
	IdleTimeout time.Duration
	// Lifetime is the absolute lifetime of a session, counted from its
	// creation or last renewal; activity cannot extend it (default 24 hours).
	Lifetime time.Duration
	// RememberMeLifetime replaces Lifetime for sessions with remember-me
	// set (default 30 days).
	RememberMeLifetime time.Duration
	// RememberMeIdleTimeout replaces IdleTimeout for sessions with
	// remember-me set (default 7 days).
	RememberMeIdleTimeout time.Duration
	// TouchInterval is the least time between two writes that only slide
	// the idle deadline of an unchanged session (default 1 minute).
	TouchInterval time.Duration
	// RenewGrace keeps the old token of a renewed session working for this
	// long, so that requests the browser sent in parallel with the renewing
	// one are not logged out. The default, 0, ends the old token at once,
	// which is what a login (a privilege change) needs.
	RenewGrace time.Duration

	// Codec encodes values (default JSONCodec).
	Codec Codec
	// Secrets, when set, sign the cookie value with HMAC-SHA256 in the
	// format of Express's signed cookies: the first secret signs, every
	// secret verifies, so secrets can be rotated. Each must be at least 32
	// bytes, except in Express mode.
	Secrets [][]byte
	// Express makes the manager share sessions with an express-session
	// application: the cookie is connect.sid (unless Cookie.Name says
	// otherwise) signed with Secrets exactly as express-session signs it,
	// and session IDs are express-session's (24 random bytes, 32 base64url
	// characters) and reach the store as they are, not hashed. Use it with a
	// store in its Express format (redisstore, mongostore). See the README's
	// Express section for the protections this mode gives up.
	Express bool

	// Metadata returns the strings recorded with a new session for "your
	// devices" listings. The default records the client IP (from
	// RemoteAddr) and the user agent.
	Metadata func(r *http.Request) map[string]string
	// ErrorHandler answers a request whose session could not be loaded or
	// saved. The default answers 503 when the store is unavailable and 500
	// otherwise, and logs the error.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// OnEvent is called after a session is created, renewed, destroyed or
	// found expired. It must not block.
	OnEvent func(ctx context.Context, e Event)
	// Logger receives errors and suspicious events; it never receives a
	// token. Default: slog.Default().
	Logger *slog.Logger
	// Now returns the current time (default time.Now). Tests inject a
	// fake clock here.
	Now func() time.Time
}

// CookieConfig sets the session cookie. The defaults follow OWASP: a
// __Host- prefixed name, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain.
// The cookie is always HttpOnly.
type CookieConfig struct {
	// Name is the cookie name (default "__Host-sid", or "sid" when
	// Insecure).
	Name string
	// Domain is empty by default, which keeps the cookie on the exact host.
	// A __Host- name cannot have one.
	Domain string
	// Path defaults to "/". A __Host- name requires "/".
	Path string
	// SameSite defaults to http.SameSiteLaxMode; http.SameSiteDefaultMode
	// leaves the attribute out.
	SameSite http.SameSite
	// Insecure drops the Secure attribute, for plain-HTTP development on
	// localhost only. It must be set explicitly, and the manager logs a
	// warning when it is.
	Insecure bool
	// Partitioned sets the Partitioned attribute (CHIPS).
	Partitioned bool
}

// Manager loads, saves and ends sessions. Create one with New and share it;
// it is safe for concurrent use.
type Manager struct {
	cfg     Config
	store   Store
	client  ClientStore
	codec   Codec
	tokens  tokenCodec
	cookie  CookieConfig
	now     func() time.Time
	log     *slog.Logger
	key     *int // context key, unique per manager
	entropy func([]byte) error
}

// New checks cfg and returns a Manager. It rejects configurations that
// contradict themselves, such as a __Host- cookie with a Domain or
// SameSite=None without Secure.
func New(cfg Config) (*Manager, error) {
	if (cfg.Store == nil) == (cfg.ClientStore == nil) {
		return nil, errors.New("sessionkit: set exactly one of Config.Store and Config.ClientStore")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"IdleTimeout", &cfg.IdleTimeout, DefaultIdleTimeout},
		{"Lifetime", &cfg.Lifetime, DefaultLifetime},
		{"RememberMeLifetime", &cfg.RememberMeLifetime, DefaultRememberMeLifetime},
		{"RememberMeIdleTimeout", &cfg.RememberMeIdleTimeout, DefaultRememberMeIdleTimeout},
		{"TouchInterval", &cfg.TouchInterval, DefaultTouchInterval},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("sessionkit: Config.%s is negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.RenewGrace < 0 || cfg.RenewGrace > time.Minute {
		return nil, errors.New("sessionkit: Config.RenewGrace must be between 0 and 1 minute")
	}
	for i, s := range cfg.Secrets {
		if len(s) < 32 && !cfg.Express {
			return nil, fmt.Errorf("sessionkit: Config.Secrets[%d] is shorter than 32 bytes", i)
		}
	}
	var signer *Signer
	if len(cfg.Secrets) > 0 {
		var err error
		if signer, err = NewSigner(cfg.Secrets...); err != nil {
			return nil, err
		}
	}
	if cfg.Express {
		if signer == nil {
			return nil, errors.New("sessionkit: Express mode needs Config.Secrets (the express-session secret)")
		}
		if cfg.ClientStore != nil {
			return nil, errors.New("sessionkit: Express mode needs a server-side Store")
		}
		if cfg.Cookie.Name == "" {
			cfg.Cookie.Name = DefaultExpressCookieName
		}
	}
	c, err := checkCookie(cfg.Cookie)
	if err != nil {
		return nil, err
	}
	if n, ok := cfg.ClientStore.(interface{ CookieName() string }); ok && n.CookieName() != c.Name {
		return nil, fmt.Errorf("sessionkit: the client store seals for cookie %q but the manager uses %q", n.CookieName(), c.Name)
	}
	m := &Manager{
		cfg: cfg, store: cfg.Store, client: cfg.ClientStore, codec: cfg.Codec,
		tokens: tokenCodec{signer: signer, express: cfg.Express}, cookie: c, now: cfg.Now, log: cfg.Logger,
		key: new(int), entropy: randRead,
	}
	if m.codec == nil {
		m.codec = JSONCodec{}
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.cfg.Metadata == nil {
		m.cfg.Metadata = DefaultMetadata
	}
	if c.Insecure {
		m.log.Warn("sessionkit: session cookie is not Secure; use this only for plain-HTTP development", "cookie", c.Name)
	}
	return m, nil
}

func checkCookie(c CookieConfig) (CookieConfig, error) {
	if c.Name == "" {
		c.Name = DefaultCookieName
		if c.Insecure {
			c.Name = DefaultInsecureCookieName
		}
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	probe := &http.Cookie{Name: c.Name, Value: "x", Path: c.Path, Domain: c.Domain}
	if err := probe.Valid(); err != nil {
		return c, fmt.Errorf("sessionkit: invalid cookie configuration: %w", err)
	}
	switch {
	case strings.HasPrefix(c.Name, "__Host-") && c.Insecure:
		return c, fmt.Errorf("sessionkit: cookie %q: a __Host- cookie must be Secure; choose another name for plain-HTTP development", c.Name)
	case strings.HasPrefix(c.Name, "__Host-") && c.Domain != "":
		return c, fmt.Errorf("sessionkit: cookie %q: a __Host- cookie cannot have a Domain", c.Name)
	case strings.HasPrefix(c.Name, "__Host-") && c.Path != "/":
		return c, fmt.Errorf("sessionkit: cookie %q: a __Host- cookie must have Path=/", c.Name)
	case strings.HasPrefix(c.Name, "__Secure-") && c.Insecure:
		return c, fmt.Errorf("sessionkit: cookie %q: a __Secure- cookie must be Secure", c.Name)
	case c.SameSite == http.SameSiteNoneMode && c.Insecure:
		return c, errors.New("sessionkit: SameSite=None requires a Secure cookie")
	case c.Partitioned && c.Insecure:
		return c, errors.New("sessionkit: a Partitioned cookie must be Secure")
	}
	return c, nil
}

// DefaultMetadata records the client IP (the host part of RemoteAddr) and
// the user agent (cut to 256 bytes). Behind a reverse proxy, set
// Config.Metadata to read the proxy's header instead.
func DefaultMetadata(r *http.Request) map[string]string {
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	ua := r.UserAgent()
	if len(ua) > 256 {
		ua = ua[:256]
	}
	return map[string]string{"ip": ip, "ua": ua}
}

// idleFor returns the idle timeout that applies to a session.
func (m *Manager) idleFor(persistent bool) time.Duration {
	if persistent {
		return m.cfg.RememberMeIdleTimeout
	}
	return m.cfg.IdleTimeout
}

// lifetimeFor returns the absolute lifetime that applies to a session.
func (m *Manager) lifetimeFor(persistent bool) time.Duration {
	if persistent {
		return m.cfg.RememberMeLifetime
	}
	return m.cfg.Lifetime
}

// expiresAt returns the earlier of the idle deadline counted from now and
// the absolute deadline.
func (m *Manager) expiresAt(now time.Time, persistent bool, absolute time.Time) time.Time {
	e := now.Add(m.idleFor(persistent))
	if absolute.Before(e) {
		return absolute
	}
	return e
}
