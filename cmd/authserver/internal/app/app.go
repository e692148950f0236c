// Package app is the authserver reference application: registration,
// login with remember-me, logout, a "your devices" page and password
// changes, on top of sessionkit.
package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/binding"
	"github.com/sessionkit/sessionkit/guessing"
	"github.com/sessionkit/sessionkit/remember"
	"go.opentelemetry.io/otel/trace"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Default rate limits. Failed logins are limited per client IP and per
// pair of account and client IP (hard limits within LoginWindow), and
// slowed down per account: after DefaultAccountFreeFailures failures from
// any clients, each further attempt on the account waits 1 s, then 2 s,
// 4 s, … up to DefaultAccountMaxDelay, until the account has seen no
// failure for a LoginWindow.
const (
	DefaultLoginFailuresPerIP           = 50
	DefaultLoginFailuresPerAccountAndIP = 10
	DefaultAccountFreeFailures          = 10
	DefaultAccountMaxDelay              = time.Minute
	DefaultLoginWindow                  = 15 * time.Minute
	DefaultRegistrationsPerIP           = 20
	DefaultRegistrationWindow           = time.Hour
	DefaultHashWait                     = 10 * time.Second
)

// maxFormBytes bounds request bodies.
const maxFormBytes = 64 << 10

// Options configures an App. Exactly one of Store and ClientStore must be
// set, and Users.
type Options struct {
	// Store keeps sessions on the server.
	Store sessionkit.Store
	// ClientStore keeps sessions in the cookie (package cookiestore).
	ClientStore sessionkit.ClientStore
	// Users keeps the accounts.
	Users UserStore
	// Secrets sign the session cookie value; the first signs, all verify.
	Secrets [][]byte
	// LogKey keys the identifiers under which the logs name sessions and
	// the names typed at failed logins (sessionkit.Config.LogKey), at
	// least 32 bytes. Nil derives it from the first of Secrets, so
	// instances sharing their secrets link their lines (rotating the
	// first secret starts new identifiers); without Secrets, sessionkit
	// makes a random one.
	LogKey []byte
	// Dev drops the Secure attribute and the __Host- prefix of the cookie,
	// for plain-HTTP use on a development machine. Without Dev, the
	// browser routes answer only over HTTPS (TLS, or a trusted proxy's
	// X-Forwarded-Proto: https) or to a loopback host name: other plain
	// HTTP requests are redirected to https:// (GET, HEAD) or refused with
	// 403, with no cookie. /healthz answers over plain HTTP too.
	Dev bool
	// TrustedProxies lists the addresses of reverse proxies whose
	// X-Forwarded-For and X-Forwarded-Proto headers are believed. Empty
	// means no proxy headers are used.
	TrustedProxies []netip.Prefix
	// Session timeouts; zero picks sessionkit's defaults.
	IdleTimeout, Lifetime, RememberMeLifetime, RememberMeIdleTimeout time.Duration
	// MaxSessionsPerUser, when positive, holds each account to that many
	// signed-in sessions (sessionkit.Config.MaxSessionsPerUser); the Store
	// must implement sessionkit.SessionLimiter. SessionLimit says what a
	// login beyond it does: sessionkit.EvictOldest signs out the oldest
	// device, sessionkit.RejectNew refuses the login with 409.
	MaxSessionsPerUser int
	SessionLimit       sessionkit.LimitPolicy
	// Hard limits of failed logins per client IP and per pair of account
	// and client IP within LoginWindow, and of registration attempts per
	// IP within RegistrationWindow. Zero picks the defaults.
	LoginFailuresPerIP, LoginFailuresPerAccountAndIP, RegistrationsPerIP int
	LoginWindow, RegistrationWindow                                      time.Duration
	// Progressive delay per account: AccountFreeFailures failures without
	// delay, then a delay between attempts doubling from 1 s up to
	// AccountMaxDelay. Zero picks the defaults.
	AccountFreeFailures int
	AccountMaxDelay     time.Duration
	// IPv6Prefix is the prefix length on which IPv6 clients are rate
	// limited (default 64); IPv4 clients are limited per address.
	IPv6Prefix int
	// HashWait bounds the wait for a password hashing slot; a login that
	// waits longer answers 503 (default 10 s).
	HashWait time.Duration
	// Registry receives the app's metrics, which MetricsHandler serves.
	// Nil means a new registry with the Go and process collectors.
	Registry *prometheus.Registry
	// Logger receives the app's logs (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Remember, if set, keeps remember-me tokens (package remember):
	// "keep me signed in" then gives the browser a rotating token that
	// starts new, non-fresh sessions, instead of a persistent session.
	Remember remember.Store
	// GuessThreshold is how many unknown or forged session cookies a
	// client may send within a minute before it gets 429 for GuessBlock
	// (package guessing; zero picks its defaults, 100 and 15 minutes). A
	// negative GuessThreshold turns the detection off.
	GuessThreshold int
	GuessBlock     time.Duration
	// Binding is the session binding policy: BindingOff (the default),
	// BindingAlert or BindingDestroy.
	Binding string
	// TracerProvider traces the session store calls (package
	// sessionotel). Nil means the global OpenTelemetry provider, which
	// records nothing until an SDK is installed.
	TracerProvider trace.TracerProvider
}

// App is the HTTP application. Create it with New and serve App.Handler.
type App struct {
	opts     Options
	sm       *sessionkit.Manager
	users    UserStore
	log      *slog.Logger
	metrics  *metrics
	pages    map[string]*template.Template
	dummy    string        // argon2id hash checked for unknown users
	hashSem  chan struct{} // bounds concurrent password hashing (19 MiB each)
	ipFail   *Limiter      // hard limit per client
	pairFail *Limiter      // hard limit per account and client
	acctSlow *Limiter      // progressive delay per account
	regIP    *Limiter
	handler  http.Handler
	rm       *remember.Manager  // nil without Options.Remember
	guess    *guessing.Detector // nil when guessing detection is off
	bind     *binding.Checker
}

// New returns an App for opts.
func New(opts Options) (*App, error) {
	if opts.Users == nil {
		return nil, errors.New("app: no user store")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	setDefault(&opts.LoginFailuresPerIP, DefaultLoginFailuresPerIP)
	setDefault(&opts.LoginFailuresPerAccountAndIP, DefaultLoginFailuresPerAccountAndIP)
	setDefault(&opts.AccountFreeFailures, DefaultAccountFreeFailures)
	setDefault(&opts.AccountMaxDelay, DefaultAccountMaxDelay)
	setDefault(&opts.RegistrationsPerIP, DefaultRegistrationsPerIP)
	setDefault(&opts.LoginWindow, DefaultLoginWindow)
	setDefault(&opts.RegistrationWindow, DefaultRegistrationWindow)
	setDefault(&opts.IPv6Prefix, DefaultIPv6Prefix)
	setDefault(&opts.HashWait, DefaultHashWait)
	if opts.IPv6Prefix > 128 {
		return nil, fmt.Errorf("app: IPv6 prefix length %d is more than 128", opts.IPv6Prefix)
	}
	if _, err := commonPasswords(); err != nil {
		return nil, err
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
		opts.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	a := &App{
		opts:     opts,
		users:    opts.Users,
		log:      opts.Logger,
		hashSem:  make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
		ipFail:   NewLimiter(opts.LoginFailuresPerIP, opts.LoginWindow, opts.Now),
		pairFail: NewLimiter(opts.LoginFailuresPerAccountAndIP, opts.LoginWindow, opts.Now),
		acctSlow: NewThrottle(opts.AccountFreeFailures, opts.AccountMaxDelay, opts.LoginWindow, opts.Now),
		regIP:    NewLimiter(opts.RegistrationsPerIP, opts.RegistrationWindow, opts.Now),
	}
	var err error
	if a.metrics, err = newMetrics(opts.Registry); err != nil {
		return nil, err
	}
	if a.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if a.dummy, err = HashPassword(rand.Text()); err != nil {
		return nil, err
	}
	a.guess = a.guessingDetector()
	cfg := sessionkit.Config{
		ClientStore:           opts.ClientStore,
		Cookie:                sessionkit.CookieConfig{Insecure: opts.Dev},
		IdleTimeout:           opts.IdleTimeout,
		Lifetime:              opts.Lifetime,
		RememberMeLifetime:    opts.RememberMeLifetime,
		RememberMeIdleTimeout: opts.RememberMeIdleTimeout,
		MaxSessionsPerUser:    opts.MaxSessionsPerUser,
		LimitPolicy:           opts.SessionLimit,
		Secrets:               opts.Secrets,
		LogKey:                opts.logKey(),
		Metadata:              a.metadata,
		OnEvent:               a.onEvent(),
		Logger:                opts.Logger,
		Now:                   opts.Now,
	}
	if opts.Store != nil {
		cfg.Store = a.metrics.sessions.WrapStore(a.traceStore(opts.Store))
	}
	if a.sm, err = sessionkit.New(cfg); err != nil {
		return nil, err
	}
	if a.rm, err = a.newRemember(); err != nil {
		return nil, err
	}
	if a.bind, err = a.bindingChecker(); err != nil {
		return nil, err
	}
	a.handler = a.routes()
	return a, nil
}

// logKeyLabel is what the log key derived from a secret is the
// HMAC-SHA256 of. The secret signs session tokens, which hold no space, so
// it never signs this label: the derived key is no cookie signature and
// reveals nothing of the secret.
const logKeyLabel = "authserver log key"

// logKey returns Options.LogKey, or else one derived from the first of
// Secrets, or else nil (sessionkit makes a random key).
func (o *Options) logKey() []byte {
	if o.LogKey != nil || len(o.Secrets) == 0 {
		return o.LogKey
	}
	mac := hmac.New(sha256.New, o.Secrets[0])
	mac.Write([]byte(logKeyLabel))
	return mac.Sum(nil)
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Manager returns the app's session manager.
func (a *App) Manager() *sessionkit.Manager { return a.sm }

// Handler returns the app's HTTP handler. It does not serve /metrics.
func (a *App) Handler() http.Handler { return a.handler }

// MetricsHandler serves the app's Prometheus metrics at /metrics, for a
// listener of its own that the public cannot reach.
func (a *App) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.opts.Registry, promhttp.HandlerOpts{}))
	return mux
}

func (a *App) routes() http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("GET /{$}", a.home)
	pages.HandleFunc("GET /register", a.registerForm)
	pages.HandleFunc("POST /register", a.register)
	pages.HandleFunc("GET /login", a.loginForm)
	pages.HandleFunc("POST /login", a.login)
	pages.HandleFunc("POST /logout", a.logout)
	pages.HandleFunc("GET /sessions", a.sessions)
	pages.Handle("POST /sessions/revoke", a.sudo("/sessions", a.revokeSession))
	pages.Handle("POST /sessions/revoke-others", a.sudo("/sessions", a.revokeOthers))
	pages.Handle("POST /password", a.sudo("/", a.changePassword))
	pages.HandleFunc("GET /reauth", a.reauthForm)
	pages.HandleFunc("POST /reauth", a.reauth)

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(a.crossOriginRejected))

	mux := http.NewServeMux()
	mux.Handle("GET /static/", a.httpsOnly(a.staticFiles()))
	mux.HandleFunc("GET /healthz", a.healthz) // load balancers probe it over plain HTTP
	mux.Handle("/", a.httpsOnly(noStore(csrf.Handler(limitBody(a.blockGuessers(a.sm.Middleware(a.restoreRemembered(a.bind.Middleware(a.errorPages(pages))))))))))
	return a.securityHeaders(a.logRequests(mux))
}

// crossOriginRejected answers 403 to a cross-origin request, before the
// session middleware and any handler run, and logs it with the client and,
// when its cookie names a live session, the user and the session's log
// identifier. The session is only read (sessionkit.Manager.Lookup): a
// rejected request writes nothing to the store and slides no deadline.
func (a *App) crossOriginRejected(w http.ResponseWriter, r *http.Request) {
	attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("ip", a.clientIP(r)), userAgent(r)}
	switch info, found, err := a.sm.Lookup(r); {
	case err != nil:
		attrs = append(attrs, slog.String("session_error", err.Error()))
	case found:
		attrs = append(attrs, slog.String("user_id", info.UserID), slog.Any("session", a.sm.LogID(info.ID)))
	}
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "cross-origin request rejected", attrs...)
	http.Error(w, "Cross-origin request rejected.", http.StatusForbidden)
}

// userAgent is the request's User-Agent as the app's security log lines
// carry it: cut as sessionkit.DefaultMetadata cuts it (the log handler
// quotes it).
func userAgent(r *http.Request) slog.Attr {
	return slog.String("user_agent", sessionkit.DefaultMetadata(r)["ua"])
}

// NewLogHandler returns the app's log handler: text, or JSON when json is
// set, written to w from level up, with every time in UTC whatever the
// process's time zone.
func NewLogHandler(w io.Writer, json bool, level slog.Leveler) slog.Handler {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindTime {
			a.Value = slog.TimeValue(a.Value.Time().UTC())
		}
		return a
	}}
	if json {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// clientIP returns the client's address: the connection's peer, or, when
// that peer is a trusted proxy, the last untrusted address of
// X-Forwarded-For.
func (a *App) clientIP(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		return host
	}
	ip := peer.Addr().Unmap()
	if !a.trusted(ip) {
		return ip.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	var list []string
	for _, h := range hops {
		list = append(list, strings.Split(h, ",")...)
	}
	for i := len(list) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(list[i]))
		if err != nil {
			break
		}
		hop = hop.Unmap()
		if !a.trusted(hop) {
			return hop.String()
		}
		ip = hop
	}
	return ip.String()
}

func (a *App) trusted(ip netip.Addr) bool {
	for _, p := range a.opts.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// secure reports whether the client reached us over HTTPS: directly, or
// through a trusted proxy that says so.
func (a *App) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && a.trusted(peer.Addr().Unmap()) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// httpsOnly keeps the browser routes off plain HTTP (unless Options.Dev):
// a request that is not secure gets no page and no cookie, as no session
// is read or written. GET and HEAD are redirected (301) to the same URL
// on https:// at the default port; other methods, whose body went out in
// the clear already, get 403 rather than a redirect that would resend it
// and hide the leak. Requests to a loopback host name (http://localhost,
// where browsers keep Secure cookies: the zero-setup mode) pass.
func (a *App) httpsOnly(next http.Handler) http.Handler {
	if a.opts.Dev {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := hostname(r.Host)
		switch {
		case a.secure(r) || loopback(host):
			next.ServeHTTP(w, r)
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && host != "":
			if strings.Contains(host, ":") {
				host = "[" + host + "]"
			}
			u := url.URL{Scheme: "https", Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
			http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
		default:
			http.Error(w, "This site is served over HTTPS only.", http.StatusForbidden)
		}
	})
}

// hostname returns the host of a Host header without its port.
func hostname(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// loopback reports whether host names this machine: localhost, a name
// under .localhost, or a loopback address.
func loopback(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// clientKey is the rate-limit key of the request's client: its IP, or for
// IPv6 the network of Options.IPv6Prefix bits around it.
func (a *App) clientKey(r *http.Request) string {
	return clientKey(a.clientIP(r), a.opts.IPv6Prefix)
}

// metadata records the client IP (behind a trusted proxy, the proxy's
// client), User-Agent and Accept-Language of a new session.
func (a *App) metadata(r *http.Request) map[string]string {
	m := sessionkit.DefaultMetadata(r)
	m["ip"] = a.clientIP(r)
	return m
}

const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (a *App) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		if a.secure(r) {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// noStore keeps pages that may carry a session cookie or personal data out
// of every cache.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// staticFiles serves the embedded files under /static/, and the app's 404
// page for any other name (no directory listings).
func (a *App) staticFiles() http.Handler {
	static, _ := fs.Sub(staticFS, "static")
	files := cacheFor(time.Hour, http.FileServerFS(static))
	return http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st, err := fs.Stat(static, r.URL.Path); err != nil || st.IsDir() {
			a.renderError(w, r, http.StatusNotFound)
			return
		}
		files.ServeHTTP(w, r)
	}))
}

func cacheFor(d time.Duration, next http.Handler) http.Handler {
	v := "public, max-age=" + strconv.Itoa(int(d.Seconds()))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", v)
		next.ServeHTTP(w, r)
	})
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status of a response for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests logs each request's method, path (never the query), status,
// duration and client IP. Cookies, form values and tokens are never logged.
func (a *App) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if r.URL.Path == "/healthz" {
			return
		}
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)), slog.String("ip", a.clientIP(r)))
	})
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.users.Ping(ctx); err != nil {
		a.log.LogAttrs(ctx, slog.LevelError, "health check: user store", slog.String("error", err.Error()))
		http.Error(w, "user store unavailable", http.StatusServiceUnavailable)
		return
	}
	if a.opts.Store != nil {
		if _, err := a.opts.Store.Load(ctx, "healthz"); err != nil {
			a.log.LogAttrs(ctx, slog.LevelError, "health check: session store", slog.String("error", err.Error()))
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// retryAfter sets Retry-After to d rounded up to whole seconds.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
}
