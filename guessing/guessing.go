// Package guessing detects session token guessing: clients that send many
// cookies naming no session (forged or unknown tokens), and throttles them.
//
// A Detector counts the EventRejected events of a sessionkit.Manager per
// client. When a client (by default its IP address, an IPv6 client by its
// /64 network) sends more than Options.Threshold rejected tokens within
// Options.Window, the Detector calls Options.OnAlert once and answers the
// client's requests with 429 Too Many Requests and Retry-After for
// Options.Block, before the manager makes any store call.
//
// The Detector has two halves, and both must be installed: its Middleware
// goes OUTSIDE Manager.Middleware (it puts the client's key into the
// request's context and turns blocked clients away), and its OnEvent goes
// into Config.OnEvent (it counts the rejections reported under that
// context):
//
//	guard := guessing.New(guessing.Options{OnAlert: func(ctx context.Context, a guessing.Alert) {
//		slog.WarnContext(ctx, "session token guessing", "client", a.Client, "rejected", a.Rejected)
//	}})
//	sessions, err := sessionkit.New(sessionkit.Config{Store: store, OnEvent: guard.OnEvent})
//	...
//	handler := guard.Middleware(sessions.Middleware(mux))
//
// A rejection reported without the Detector's middleware around the request
// is not counted. Every client behind one address (a NAT, a proxy that is
// not trusted) is one client: a block stops them all. Behind a reverse proxy, set Options.Key to a function that
// reads the client address the proxy vouches for.
//
// Memory is bounded: at most Options.MaxClients clients are tracked; a
// client's count is dropped when its window has passed, and when the table
// is full the least active of a few sampled clients makes room (a blocked
// client is kept while its block lasts, unless every sampled one is
// blocked).
package guessing

import (
	"context"
	"maps"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/clientip"
)

// Defaults of Options.
const (
	DefaultThreshold  = 100
	DefaultWindow     = time.Minute
	DefaultBlock      = 15 * time.Minute
	DefaultMaxClients = 10000
)

// sample is how many tracked clients are compared when the table is full.
const sample = 8

// Options configures a Detector. The zero value is ready to use.
type Options struct {
	// Threshold is how many rejected tokens a client may send within one
	// Window; the next one raises the alert and blocks the client
	// (default DefaultThreshold).
	Threshold int
	// Window is the period over which rejections are counted, starting
	// at a client's first rejection (default DefaultWindow).
	Window time.Duration
	// Block is how long a client that crossed the threshold gets 429
	// (default DefaultBlock).
	Block time.Duration
	// AlertOnly raises the alert without blocking anyone.
	AlertOnly bool
	// MaxClients bounds the number of clients tracked at once (default
	// DefaultMaxClients).
	MaxClients int
	// Key returns the client key of a request (default ClientKey). An
	// empty key is not tracked.
	Key func(*http.Request) string
	// OnAlert, if set, is called once each time a client crosses the
	// threshold, with the context of the request that crossed it. It runs
	// on the request's goroutine: it should not block.
	OnAlert func(ctx context.Context, a Alert)
	// Blocked answers the requests of a blocked client, after the
	// Detector has set Retry-After (default: 429 Too Many Requests with a
	// short text).
	Blocked http.Handler
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Alert reports a client that crossed the threshold.
type Alert struct {
	// Client is the client's key (see Options.Key).
	Client string
	// Rejected is how many rejected tokens the client sent within the
	// window, by reason (sessionkit.RejectedForged, RejectedUnknown).
	Rejected map[string]int
	// Until is when the client's block ends; zero with AlertOnly.
	Until time.Time
}

// Detector counts rejected session tokens per client and throttles the
// clients that send too many. Create it with New. It is safe for concurrent
// use.
type Detector struct {
	opts Options

	mu      sync.Mutex
	clients map[string]*client
	sweep   time.Time // when the next full sweep of ended windows may run
}

// client is the state of one tracked client.
type client struct {
	start    time.Time      // the window's first rejection
	rejected map[string]int // by reason, within the window
	total    int
	until    time.Time // blocked until, or zero
}

// New returns a Detector for opts.
func New(opts Options) *Detector {
	if opts.Threshold <= 0 {
		opts.Threshold = DefaultThreshold
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Block <= 0 {
		opts.Block = DefaultBlock
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = DefaultMaxClients
	}
	if opts.Key == nil {
		opts.Key = ClientKey
	}
	if opts.Blocked == nil {
		opts.Blocked = http.HandlerFunc(tooMany)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Detector{opts: opts, clients: make(map[string]*client)}
}

// ClientKey is the default client key: the IP address of the request's
// peer (the host of RemoteAddr), an IPv4-mapped IPv6 address as IPv4, an
// IPv6 address cut to its /64 network (one customer site usually gets a
// whole /64), written as a prefix ("192.0.2.1/32", "2001:db8::/64"). A
// RemoteAddr that holds no IP address is returned as it is.
func ClientKey(r *http.Request) string {
	return clientip.Key(clientip.Host(r.RemoteAddr), 32, 64)
}

// ctxKey is the context key under which Middleware stores the client key.
type ctxKey struct{ d *Detector }

// Middleware answers the requests of blocked clients with 429 and
// Retry-After, and passes the others to next with their client key in the
// context, where OnEvent finds it. Place it outside Manager.Middleware.
func (d *Detector) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := d.opts.Key(r)
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if left := d.blocked(key); left > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((left+time.Second-1)/time.Second)))
			d.opts.Blocked.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{d}, key)))
	})
}

// tooMany is the default Options.Blocked.
func tooMany(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "Too many invalid session cookies from your network; try again later.", http.StatusTooManyRequests)
}

// blocked returns how long the client key stays blocked, or 0.
func (d *Detector) blocked(key string) time.Duration {
	now := d.opts.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.clients[key]; c != nil && now.Before(c.until) {
		return c.until.Sub(now)
	}
	return 0
}

// Blocked reports whether the client with the given key is blocked now.
func (d *Detector) Blocked(key string) bool { return d.blocked(key) > 0 }

// OnEvent counts an EventRejected against the client whose key
// Middleware put into ctx; other events, and events of requests that did
// not pass through Middleware, are ignored. Set it as Config.OnEvent, or
// call it from the function that is.
func (d *Detector) OnEvent(ctx context.Context, e sessionkit.Event) {
	if e.Kind != sessionkit.EventRejected {
		return
	}
	key, ok := ctx.Value(ctxKey{d}).(string)
	if !ok {
		return
	}
	if a, ok := d.count(key, e.Reason); ok && d.opts.OnAlert != nil {
		d.opts.OnAlert(ctx, a)
	}
}

// count records one rejection of the client key for reason, and returns
// the alert when it crosses the threshold.
func (d *Detector) count(key, reason string) (Alert, bool) {
	now := d.opts.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.clients[key]
	switch {
	case c == nil:
		d.makeRoom(now)
		c = &client{start: now}
		d.clients[key] = c
	case now.Before(c.until):
		return Alert{}, false // already blocked: a request that was in flight
	case !c.until.IsZero() || !now.Before(c.start.Add(d.opts.Window)):
		*c = client{start: now} // a new window, or a block that has ended
	}
	if c.rejected == nil {
		c.rejected = make(map[string]int, 2)
	}
	c.rejected[reason]++
	c.total++
	if c.total != d.opts.Threshold+1 {
		return Alert{}, false
	}
	a := Alert{Client: key, Rejected: maps.Clone(c.rejected)}
	if !d.opts.AlertOnly {
		c.until = now.Add(d.opts.Block)
		a.Until = c.until
	}
	return a, true
}

// ended reports whether the window and the block of c have passed.
func (d *Detector) ended(c *client, now time.Time) bool {
	return !now.Before(c.start.Add(d.opts.Window)) && !now.Before(c.until)
}

// makeRoom ensures there is room for one more client: it drops the clients
// whose window and block have ended (at most once per Window, since it
// walks the whole table), then, if the table is still full, the least
// active of a few sampled clients, preferring one that is not blocked.
// The caller holds d.mu.
func (d *Detector) makeRoom(now time.Time) {
	if len(d.clients) < d.opts.MaxClients {
		return
	}
	if !now.Before(d.sweep) {
		for k, c := range d.clients {
			if d.ended(c, now) {
				delete(d.clients, k)
			}
		}
		d.sweep = now.Add(d.opts.Window)
		if len(d.clients) < d.opts.MaxClients {
			return
		}
	}
	var victim string
	var vc *client
	n := 0
	for k, c := range d.clients { // map order is random: a random sample
		if vc == nil || less(c, vc, now) {
			victim, vc = k, c
		}
		if n++; n == sample {
			break
		}
	}
	delete(d.clients, victim)
}

// less reports whether a is a better candidate for eviction than b: not
// blocked before blocked, then fewer rejections.
func less(a, b *client, now time.Time) bool {
	ab, bb := now.Before(a.until), now.Before(b.until)
	if ab != bb {
		return !ab
	}
	return a.total < b.total
}

// Len returns the number of clients tracked now.
func (d *Detector) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.clients)
}
