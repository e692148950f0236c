package sessionkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/cookiesig"
)

// Default values used when a Config field is zero.
const (
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
	// RenewGrace lets the old token of a renewed session read it (a change
	// returns ErrRenewed) for this long, a deadline no request extends, so
	// that requests sent in parallel with the renewing one are not logged
	// out. The default, 0, ends the old token at once, as a login needs.
	// It is at most 1 minute, and shorter than both idle timeouts.
	RenewGrace time.Duration

	// MaxSessionsPerUser, when positive, holds each user to this many live
	// sessions: Session.SetUserID links a session to its user through the
	// store's SessionLimiter, atomically across every instance sharing the
	// store, and LimitPolicy says what happens to one session too many.
	// The Store must implement SessionLimiter; a ClientStore cannot.
	// Default 0: no limit.
	MaxSessionsPerUser int
	// LimitPolicy is what MaxSessionsPerUser does at the limit: EvictOldest
	// (the default) or RejectNew.
	LimitPolicy LimitPolicy

	// Codec encodes values (default JSONCodec).
	Codec Codec
	// Tokens is the token scheme (see Tokens; default: 256-bit tokens,
	// stores keyed by HashToken).
	Tokens Tokens
	// Secrets sign the default scheme's cookie value with HMAC-SHA256, as
	// Express's signed cookies (package cookiesig): the first signs, all
	// verify. Each is at least 32 bytes. A custom Tokens signs by itself.
	Secrets [][]byte

	// Metadata returns the strings recorded with a new session for "your
	// devices" listings (default DefaultMetadata).
	Metadata func(r *http.Request) map[string]string
	// ErrorHandler answers a request whose session could not be loaded or
	// saved (default: log, then 503 when the store is unavailable or timed
	// out, 500 otherwise). A canceled request gets no answer.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// OnEvent is called after a session is created, renewed, destroyed or
	// found expired, and when a request carries a forged or unknown token,
	// with the context of the request or call that caused it (for
	// Manager.Sweep, the sweep's). Each end of a session is reported once
	// across the instances sharing a store that implements Remover. It
	// must not block.
	OnEvent func(ctx context.Context, e Event)
	// Logger receives errors and, at Info, rejected tokens and the
	// lifecycle of sessions with their user ID, client IP and User-Agent,
	// never a token (default slog.Default()). A line names its session by
	// an identifier keyed with LogKey (see Manager.LogID).
	Logger *slog.Logger
	// LogKey keys the identifier under which log lines name a session
	// (HMAC-SHA256 over its store key; see Manager.LogID): without the
	// key, nobody, not even who holds the store, can tell which record a
	// line is about. It is at least 32 bytes and as secret as Secrets.
	// Left empty, New makes a random key for the Manager: its lines link
	// up, but not with those of another Manager, another instance or an
	// earlier run. Set the same LogKey on every instance to link lines
	// across instances and restarts.
	LogKey []byte
	// Now is the one clock that decides expiry (default time.Now).
	Now func() time.Time
}

// normalize fills in the defaults of cfg and refuses configurations that
// contradict themselves.
func (cfg Config) normalize() (Config, error) {
	if (cfg.Store == nil) == (cfg.ClientStore == nil) {
		return cfg, errors.New("sessionkit: set exactly one of Config.Store and Config.ClientStore")
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
			return cfg, fmt.Errorf("sessionkit: Config.%s is negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.RenewGrace < 0 || cfg.RenewGrace > time.Minute {
		return cfg, errors.New("sessionkit: Config.RenewGrace must be between 0 and 1 minute")
	}
	if cfg.RenewGrace > 0 && cfg.RenewGrace >= min(cfg.IdleTimeout, cfg.RememberMeIdleTimeout) {
		return cfg, errors.New("sessionkit: Config.RenewGrace must be shorter than IdleTimeout and RememberMeIdleTimeout")
	}
	if len(cfg.LogKey) > 0 && len(cfg.LogKey) < 32 {
		return cfg, fmt.Errorf("sessionkit: Config.LogKey is %d bytes; it must be at least 32 (or empty for a random key)", len(cfg.LogKey))
	}
	cfg.LogKey = bytes.Clone(cfg.LogKey)
	if cfg.Tokens != nil && len(cfg.Secrets) > 0 {
		return cfg, errors.New("sessionkit: Config.Secrets sign the default token scheme; a custom Config.Tokens signs by itself")
	}
	if cfg.Tokens == nil {
		var signer *cookiesig.Signer
		for i, s := range cfg.Secrets {
			if len(s) < 32 {
				return cfg, fmt.Errorf("sessionkit: Config.Secrets[%d] is shorter than 32 bytes", i)
			}
		}
		if len(cfg.Secrets) > 0 {
			var err error
			if signer, err = cookiesig.New(cfg.Secrets...); err != nil {
				return cfg, err
			}
		}
		cfg.Tokens = newDefaultTokens(signer)
	}
	if err := checkLimit(cfg.MaxSessionsPerUser, cfg.LimitPolicy, cfg.Store, cfg.ClientStore); err != nil {
		return cfg, err
	}
	var err error
	if cfg.Cookie, err = cfg.Cookie.normalize(); err != nil {
		return cfg, err
	}
	if n, ok := cfg.ClientStore.(CookieNamer); ok && n.CookieName() != cfg.Cookie.Name {
		return cfg, fmt.Errorf("sessionkit: the client store seals for cookie %q but the manager uses %q", n.CookieName(), cfg.Cookie.Name)
	}
	if cfg.Codec == nil {
		cfg.Codec = JSONCodec{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metadata == nil {
		cfg.Metadata = DefaultMetadata
	}
	return cfg, nil
}

// DefaultMetadata records the client IP (the host part of RemoteAddr), the
// user agent (cut to 256 bytes) and the Accept-Language header (cut to 64
// bytes), under the keys "ip", "ua" and "lang". Behind a reverse proxy, set
// Config.Metadata to read the proxy's header instead.
func DefaultMetadata(r *http.Request) map[string]string {
	ip := r.RemoteAddr
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	return map[string]string{"ip": ip, "ua": cut(r.UserAgent(), 256), "lang": cut(r.Header.Get("Accept-Language"), 64)}
}

// cut returns s cut to at most n bytes.
func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
