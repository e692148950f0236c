package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sessionkit/sessionkit"
)

// Environment variables read when the matching flag is not given.
const (
	EnvSessionSecret = "AUTHSERVER_SESSION_SECRET"
	EnvCookieKey     = "AUTHSERVER_COOKIE_KEY"
	EnvSessions      = "AUTHSERVER_SESSIONS"
	EnvUsers         = "AUTHSERVER_USERS"
	EnvRevocations   = "AUTHSERVER_REVOCATIONS"
)

// Config is the server's command line; see ParseFlags and the -h text.
type Config struct {
	Addr           string                 // -addr: listen address
	Sessions       string                 // -sessions: session store URL ("" = SQLite in DataDir)
	Users          string                 // -users: user store URL ("" = SQLite in DataDir)
	Revocations    string                 // -revocations: cookie-store revocation list URL ("" = memory, per instance)
	DataDir        string                 // -data: SQLite files and generated secrets
	Dev            bool                   // -dev: plain HTTP, non-Secure cookie
	TLSCert        string                 // -tls-cert: certificate file
	TLSKey         string                 // -tls-key: key file
	SessionSecret  string                 // -session-secret: comma-separated cookie signing secrets
	CookieKey      string                 // -cookie-key: comma-separated cookie store keys
	LogKeyFile     string                 // -log-key: file holding the log key ("" = derived from the session secret)
	TrustedProxies []netip.Prefix         // -trusted-proxies
	MetricsAddr    string                 // -metrics-addr: metrics listener ("" = no metrics)
	IPv6Prefix     int                    // -ipv6-prefix: rate-limit IPv6 clients per network of this size
	DisableUser    string                 // -disable-user: disable this account, end its sessions and exit
	EnableUser     string                 // -enable-user: enable this account again and exit
	IdleTimeout    time.Duration          // -idle-timeout
	Lifetime       time.Duration          // -lifetime
	RememberFor    time.Duration          // -remember-lifetime
	RememberIdle   time.Duration          // -remember-idle-timeout
	MaxSessions    int                    // -max-sessions: sessions per account (0 = unlimited)
	SessionLimit   sessionkit.LimitPolicy // -session-limit: evict or reject
	LogJSON        bool                   // -log-json
	Debug          bool                   // -debug
	GuessThreshold int                    // -guess-threshold: 0 = no guessing detection
	GuessBlock     time.Duration          // -guess-block
	Binding        string                 // -binding: off, alert or destroy
	OtelStdout     bool                   // -otel-stdout: print store spans
	SweepInterval  time.Duration          // -sweep-interval: how often expired sessions are swept (0 = never)
}

const usageHeader = `authserver: the sessionkit reference login app.

Usage: authserver [flags]

With no flags it serves http://localhost:3000 and keeps users and sessions
in SQLite files under ./data, created on first run together with the
secrets, readable by their owner only (files 0600, directory 0700).

Cookies are Secure (__Host-sid) unless -dev is given. Browsers keep Secure
cookies on https:// and on http://localhost, so the default works on the
same machine and behind an HTTPS reverse proxy (list it in -trusted-proxies
and have it send X-Forwarded-Proto: https); use -tls-cert/-tls-key to serve
HTTPS yourself, or -dev for plain HTTP on another host name. Without -dev,
a plain-HTTP request to another host name gets no page and no cookie: GET
and HEAD are redirected to https://, other methods refused (403); /healthz
answers over plain HTTP for load balancers.

Session stores (-sessions, or $AUTHSERVER_SESSIONS):
  sqlite:PATH                          SQLite file (default ./data/sessions.db)
  memory:                              process memory (lost at exit)
  redis://[user:pass@]host:6379[/db]   Redis (rediss:// for TLS)
  redis+cluster://[user:pass@]h1:7000,h2:7001,h3:7002
                                       Redis Cluster (rediss+cluster:// for TLS)
  redis+sentinel://MASTER@h1:26379,h2:26379[/db][?password=…]
                                       Redis behind Sentinel
  mongodb://host:27017/DB              MongoDB (database DB, default authserver)
  postgres://user:pass@host:5432/DB    PostgreSQL
  cookie:                              AES-GCM encrypted cookies (no server
                                       state; logout is tracked in memory)

User stores (-users, or $AUTHSERVER_USERS):
  sqlite:PATH (default ./data/users.db), memory:, mongodb://…, postgres://…

Secrets (-session-secret / $AUTHSERVER_SESSION_SECRET, -cookie-key /
$AUTHSERVER_COOKIE_KEY): comma-separated, each at least 32 characters; the
first signs or seals, all are accepted, so secrets can be rotated. When
absent they are generated and kept in the data directory. Prefer the
environment to flags, which other users can see in the process list.

Log key (-log-key FILE): the logs name sessions, and the names typed at
failed logins, by a keyed hash, never by a token or the typed text. The key
is the file's content (at least 32 characters), or by default derived from
the first session secret, so instances sharing their secrets (and
restarts) link their lines; give -log-key to keep the identifiers through a
rotation of the session secret.

Flags:
`

// ParseFlags parses the command line. getenv supplies environment defaults.
func ParseFlags(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("authserver", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usageHeader)
		fs.PrintDefaults()
	}
	var proxies string
	fs.StringVar(&c.Addr, "addr", ":3000", "`address` to listen on")
	fs.StringVar(&c.Sessions, "sessions", "", "session store `URL` (default $"+EnvSessions+", else sqlite:DATA/sessions.db)")
	fs.StringVar(&c.Revocations, "revocations", "", "with -sessions cookie:, the shared revocation list `URL`: redis://…, postgres://… or sqlite:PATH (default $"+EnvRevocations+", else memory:, per instance)")
	fs.StringVar(&c.Users, "users", "", "user store `URL` (default $"+EnvUsers+", else sqlite:DATA/users.db)")
	fs.StringVar(&c.DataDir, "data", "data", "`directory` for the SQLite files and generated secrets")
	fs.BoolVar(&c.Dev, "dev", false, "development mode: plain HTTP, cookie named sid without the Secure flag")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate `file` (PEM); serve HTTPS and send HSTS")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key `file` (PEM)")
	fs.StringVar(&c.SessionSecret, "session-secret", "", "`secrets` signing the session cookie (default $"+EnvSessionSecret+", else DATA/session-secret)")
	fs.StringVar(&c.CookieKey, "cookie-key", "", "`secrets` sealing cookie: sessions (default $"+EnvCookieKey+", else DATA/cookie-key)")
	fs.StringVar(&c.LogKeyFile, "log-key", "", "`file` holding the key (at least 32 characters) of the identifiers under which the logs name sessions and typed user names (default: derived from the first session secret)")
	fs.StringVar(&proxies, "trusted-proxies", "", "comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (default none)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this separate `address`, e.g. 127.0.0.1:9090 (default: no metrics)")
	fs.IntVar(&c.IPv6Prefix, "ipv6-prefix", DefaultIPv6Prefix, "rate-limit IPv6 clients per network of this prefix `length` (IPv4: per address)")
	fs.StringVar(&c.DisableUser, "disable-user", "", "disable the account `name`, end its sessions, and exit")
	fs.StringVar(&c.EnableUser, "enable-user", "", "enable the disabled account `name` again, and exit")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", sessionkit.DefaultIdleTimeout, "end a session after this much inactivity")
	fs.DurationVar(&c.Lifetime, "lifetime", sessionkit.DefaultLifetime, "absolute lifetime of a session")
	fs.DurationVar(&c.RememberFor, "remember-lifetime", sessionkit.DefaultRememberMeLifetime, "absolute lifetime of a remember-me session")
	fs.DurationVar(&c.RememberIdle, "remember-idle-timeout", sessionkit.DefaultRememberMeIdleTimeout, "inactivity limit of a remember-me session")
	fs.IntVar(&c.MaxSessions, "max-sessions", 0, "sign-in sessions allowed per account, `N` devices at a time (0: unlimited); needs a server-side session store (not cookie:)")
	limit := "evict"
	fs.StringVar(&limit, "session-limit", limit, "what a login beyond -max-sessions does: `evict` (sign out the account's oldest session) or reject (refuse the login)")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", DefaultSweepInterval, "how often to end and report (log, count) sessions that expired without coming back; 0 turns it off, so that only presented sessions are reported expired")
	fs.BoolVar(&c.LogJSON, "log-json", false, "log in JSON instead of text")
	fs.BoolVar(&c.Debug, "debug", false, "log debug messages")
	c.anomalyFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	// Environment defaults are applied after parsing, so -h never prints
	// them (they may hold passwords).
	if c.Sessions == "" {
		c.Sessions = getenv(EnvSessions)
	}
	if c.Users == "" {
		c.Users = getenv(EnvUsers)
	}
	if c.Revocations == "" {
		c.Revocations = getenv(EnvRevocations)
	}
	if c.SessionSecret == "" {
		c.SessionSecret = getenv(EnvSessionSecret)
	}
	if c.CookieKey == "" {
		c.CookieKey = getenv(EnvCookieKey)
	}
	if c.MaxSessions < 0 {
		return nil, fmt.Errorf("-max-sessions %d: want 0 (unlimited) or more", c.MaxSessions)
	}
	switch limit {
	case "evict":
		c.SessionLimit = sessionkit.EvictOldest
	case "reject":
		c.SessionLimit = sessionkit.RejectNew
	default:
		return nil, fmt.Errorf("-session-limit %q: want evict or reject", limit)
	}
	if c.SweepInterval < 0 {
		return nil, fmt.Errorf("-sweep-interval %v: want 0 (off) or more", c.SweepInterval)
	}
	if c.IPv6Prefix < 1 || c.IPv6Prefix > 128 {
		return nil, fmt.Errorf("-ipv6-prefix %d: want a prefix length from 1 to 128", c.IPv6Prefix)
	}
	if err := c.checkAnomalyFlags(); err != nil {
		return nil, err
	}
	if c.DisableUser != "" && c.EnableUser != "" {
		return nil, errors.New("-disable-user and -enable-user exclude each other")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return nil, errors.New("-tls-cert and -tls-key go together")
	}
	if c.Dev && c.TLSCert != "" {
		return nil, errors.New("-dev is for plain HTTP; it cannot be combined with -tls-cert")
	}
	for p := range strings.SplitSeq(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, fmt.Errorf("-trusted-proxies: %w", err)
			}
			c.TrustedProxies = append(c.TrustedProxies, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("-trusted-proxies: %w", err)
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
	}
	return c, nil
}

// LoadSecrets returns the comma-separated secrets in value, or else those
// in dataDir/name, generating that file (mode 0600) with 32 random bytes
// when it does not exist.
func LoadSecrets(value, dataDir, name string, log *slog.Logger) ([][]byte, error) {
	source := "flag or environment"
	if value == "" {
		path := filepath.Join(dataDir, name)
		var err error
		value, err = readSecretFile(path, log)
		if errors.Is(err, fs.ErrNotExist) {
			value, err = generateSecret(dataDir, path, log)
		}
		if err != nil {
			return nil, err
		}
		source = path
	}
	var out [][]byte
	for s := range strings.SplitSeq(value, ",") {
		s = strings.TrimSpace(s)
		if len(s) < 32 {
			return nil, fmt.Errorf("%s: every secret must be at least 32 characters", source)
		}
		out = append(out, []byte(s))
	}
	return out, nil
}

// LoadLogKey returns the log key held in the file at path (surrounding
// white space trimmed), at least 32 characters.
func LoadLogKey(path string, log *slog.Logger) ([]byte, error) {
	key, err := readSecretFile(path, log)
	if err != nil {
		return nil, fmt.Errorf("-log-key: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("-log-key %s: the key must be at least 32 characters", path)
	}
	return []byte(key), nil
}

// readSecretFile returns the trimmed content of the secret file at path,
// with a warning when other users may read it.
func readSecretFile(path string, log *slog.Logger) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("secret file is readable by other users; chmod 600 it", "file", path)
	}
	return strings.TrimSpace(string(b)), nil
}

// generateSecret writes 32 random bytes, base64url, to the new file path
// (mode 0600) in dataDir, and returns them.
func generateSecret(dataDir, path string, log *slog.Logger) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	value := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(value + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	log.Info("generated a new secret", "file", path)
	return value, nil
}

// Run starts the server described by c and serves until ctx is done, then
// shuts down gracefully. ready, if not nil, is called with the listening
// addresses once the server accepts connections: the app's, and the
// metrics listener's (nil without -metrics-addr). With -disable-user or
// -enable-user, Run changes that account instead and returns.
func Run(ctx context.Context, c *Config, log *slog.Logger, ready func(app, metrics net.Addr)) error {
	a, kind, closeStores, err := open(ctx, c, log)
	if err != nil {
		return err
	}
	defer closeStores()
	switch {
	case c.DisableUser != "":
		return a.SetUserDisabled(ctx, c.DisableUser, true)
	case c.EnableUser != "":
		return a.SetUserDisabled(ctx, c.EnableUser, false)
	}

	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	var metricsAddr net.Addr
	if c.MetricsAddr != "" {
		mln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-metrics-addr: %w", err)
		}
		msrv := &http.Server{Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, msrv)
		go func() { errc <- ignoreClosed(msrv.Serve(mln)) }()
		metricsAddr = mln.Addr()
		log.Info("metrics listening", "addr", metricsAddr.String())
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		go func() { errc <- ignoreClosed(srv.ServeTLS(ln, c.TLSCert, c.TLSKey)) }()
	} else {
		go func() { errc <- ignoreClosed(srv.Serve(ln)) }()
	}
	if c.SweepInterval > 0 {
		sweepCtx, stopSweep := context.WithCancel(ctx)
		swept := make(chan struct{})
		go func() {
			defer close(swept)
			a.SweepSessions(sweepCtx, c.SweepInterval)
		}()
		defer func() { stopSweep(); <-swept }() // before the stores close
	}
	announce(log, c, kind, scheme, ln.Addr())
	if ready != nil {
		ready(ln.Addr(), metricsAddr)
	}

	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			return err
		}
	}
	log.Info("shutting down")
	shutCtx, cancelShut := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancelShut()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Shutdown(shutCtx))
	}
	return errors.Join(errs...)
}

// open makes the app described by c on its stores; closeStores releases
// them. kind names the session store for the logs.
func open(ctx context.Context, c *Config, log *slog.Logger) (a *App, kind string, closeStores func(), err error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, "", nil, fmt.Errorf("data directory: %w", err)
	}
	secrets, err := LoadSecrets(c.SessionSecret, c.DataDir, "session-secret", log)
	if err != nil {
		return nil, "", nil, err
	}
	var logKey []byte
	if c.LogKeyFile != "" {
		if logKey, err = LoadLogKey(c.LogKeyFile, log); err != nil {
			return nil, "", nil, err
		}
	}
	var cookieKeys [][]byte
	if strings.HasPrefix(strings.ToLower(c.Sessions), "cookie:") {
		if cookieKeys, err = LoadSecrets(c.CookieKey, c.DataDir, "cookie-key", log); err != nil {
			return nil, "", nil, err
		}
	}
	cookieName := sessionkit.DefaultCookieName
	if c.Dev {
		cookieName = sessionkit.DefaultInsecureCookieName
	}
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	backend, err := OpenSessions(openCtx, c.Sessions, SessionOptions{
		DataDir: c.DataDir, CookieName: cookieName, CookieKeys: cookieKeys, Logger: log,
		Revocations: c.Revocations, MaxLifetime: max(c.Lifetime, c.RememberFor),
	})
	if err != nil {
		return nil, "", nil, fmt.Errorf("session store: %w", err)
	}
	users, err := OpenUsers(openCtx, c.Users, c.DataDir)
	if err != nil {
		backend.Close()
		return nil, "", nil, fmt.Errorf("user store: %w", err)
	}
	rm, closeRemember, err := OpenRemember(openCtx, backend, c.Users, c.DataDir, log)
	if err != nil {
		users.Close()
		backend.Close()
		return nil, "", nil, err
	}
	tp, stopTracing, err := c.tracing(os.Stdout)
	if err != nil {
		closeRemember()
		users.Close()
		backend.Close()
		return nil, "", nil, err
	}
	closeStores = func() {
		stopTracing()
		closeRemember()
		users.Close()
		backend.Close()
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err = New(Options{
		Store: backend.Store, ClientStore: backend.ClientStore, Users: users, Secrets: secrets, LogKey: logKey,
		Dev: c.Dev, TrustedProxies: c.TrustedProxies, IPv6Prefix: c.IPv6Prefix,
		IdleTimeout: c.IdleTimeout, Lifetime: c.Lifetime, RememberMeLifetime: c.RememberFor, RememberMeIdleTimeout: c.RememberIdle,
		MaxSessionsPerUser: c.MaxSessions, SessionLimit: c.SessionLimit,
		Registry: reg, Logger: log, Remember: rm,
		GuessThreshold: c.guessThreshold(), GuessBlock: c.GuessBlock, Binding: c.Binding, TracerProvider: tp,
	})
	if err != nil {
		closeStores()
		return nil, "", nil, err
	}
	return a, backend.Kind, closeStores, nil
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// announce logs where the server listens and, loudly, what its cookie mode
// means.
func announce(log *slog.Logger, c *Config, store, scheme string, addr net.Addr) {
	port := "3000"
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprint(ta.Port)
	}
	log.Info("authserver listening", "addr", addr.String(), "url", scheme+"://localhost:"+port+"/",
		"sessions", store, "users", redactURL(orDefault(c.Users, "sqlite")))
	switch {
	case c.Dev:
		log.Warn("DEVELOPMENT MODE: plain HTTP and a session cookie WITHOUT the Secure flag. Anyone on the network path can steal sessions. Never use -dev in production.")
	case scheme == "http":
		log.Warn("serving plain HTTP with Secure cookies: pages answer on http://localhost, and behind an HTTPS reverse proxy listed in -trusted-proxies that sends X-Forwarded-Proto: https; other plain-HTTP requests are redirected to https:// (GET, HEAD) or refused (403), and only /healthz answers them. For HTTPS give -tls-cert and -tls-key; for plain HTTP on another host name, -dev.")
	}
	if len(c.TrustedProxies) == 0 {
		log.Info("no trusted proxies: X-Forwarded-* headers are ignored")
	}
	if store == "cookie" && (c.Revocations == "" || strings.EqualFold(c.Revocations, "memory:")) {
		log.Warn("cookie sessions with the in-memory revocation list: a logout holds on this instance until it restarts, not on other instances. With several instances, or to survive restarts, give -revocations sqlite:PATH, redis://… or postgres://…")
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
