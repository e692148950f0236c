package app

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter counts attempts per key. An attempt is counted by Reserve before
// the work it guards starts (a password hash, say), so a burst of parallel
// requests cannot slip past the limit: at most the allowed number of
// attempts are ever admitted, whatever the concurrency. An attempt that
// turns out not to count (a successful login, an overloaded server) is
// given back with Release.
//
// A Limiter made by NewLimiter allows Max attempts in a fixed window that
// starts with the first one, then refuses every attempt until the window
// ends. One made by NewThrottle never refuses for good: after a number of
// free attempts it spaces attempts out, each delay twice the previous one
// up to a cap, and forgets a key one window after its last attempt.
//
// A Limiter keeps its state in memory, so each app instance counts on its
// own.
type Limiter struct {
	max      int           // hard limit per window; 0 means none
	window   time.Duration // fixed window, or idle time after which a throttled key is forgotten
	free     int           // throttle: attempts without delay
	maxDelay time.Duration // throttle: cap of the delay between attempts
	now      func() time.Time

	mu        sync.Mutex
	entries   map[string]*limitEntry
	nextSweep time.Time
}

type limitEntry struct {
	count int       // attempts counted in the window
	last  time.Time // when the last attempt was admitted
	reset time.Time // when the entry is forgotten
}

// NewLimiter returns a Limiter that admits max attempts per key within a
// window that starts at the key's first attempt.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	return newLimiter(&Limiter{max: max, window: window}, now)
}

// NewThrottle returns a Limiter that admits free attempts per key at once,
// then one attempt per delay: 1 s after the first delayed attempt, doubling
// up to maxDelay. A key is forgotten when idle for window.
func NewThrottle(free int, maxDelay, window time.Duration, now func() time.Time) *Limiter {
	return newLimiter(&Limiter{free: free, maxDelay: maxDelay, window: window}, now)
}

func newLimiter(l *Limiter, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l.now, l.entries = now, make(map[string]*limitEntry)
	return l
}

// delay returns the spacing a throttle asks for after count attempts.
func (l *Limiter) delay(count int) time.Duration {
	if l.maxDelay <= 0 || count < l.free {
		return 0
	}
	d := time.Second
	for i := l.free; i < count && d < l.maxDelay; i++ {
		d *= 2
	}
	return min(d, l.maxDelay)
}

// Reserve counts an attempt for key and reports whether it may go ahead.
// When it may not, nothing is counted and wait says when to try again.
func (l *Limiter) Reserve(key string) (ok bool, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	e := l.entries[key]
	if e == nil || !now.Before(e.reset) {
		e = &limitEntry{reset: now.Add(l.window)}
		l.entries[key] = e
	}
	if l.max > 0 && e.count >= l.max {
		return false, e.reset.Sub(now)
	}
	if next := e.last.Add(l.delay(e.count)); e.count > 0 && now.Before(next) {
		return false, next.Sub(now)
	}
	e.count++
	e.last = now
	if l.max <= 0 {
		e.reset = now.Add(l.window) // a throttle forgets a key once it is idle
	}
	return true, 0
}

// Release gives back one attempt that Reserve counted for key.
func (l *Limiter) Release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[key]; e != nil && e.count > 0 {
		e.count--
	}
}

// Reset forgets the attempts of key.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// sweep drops forgotten keys, at most once per window. l.mu must be held.
func (l *Limiter) sweep(now time.Time) {
	if now.Before(l.nextSweep) {
		return
	}
	l.nextSweep = now.Add(l.window)
	for k, e := range l.entries {
		if !now.Before(e.reset) {
			delete(l.entries, k)
		}
	}
}

// reservations are the slots one request took from several limiters.
type reservations []reservation

type reservation struct {
	l   *Limiter
	key string
}

// reserveAll takes a slot for each limiter and key, all or none: when one
// refuses, the slots already taken are given back, and wait is how long
// until that one admits again.
func reserveAll(rs ...reservation) (reservations, bool, time.Duration) {
	for i, r := range rs {
		if ok, wait := r.l.Reserve(r.key); !ok {
			reservations(rs[:i]).release()
			return nil, false, wait
		}
	}
	return rs, true, 0
}

// release gives every slot back.
func (rs reservations) release() {
	for _, r := range rs {
		r.l.Release(r.key)
	}
}

// DefaultIPv6Prefix is the prefix length on which IPv6 clients are rate
// limited: one customer site usually gets a whole /64 or more.
const DefaultIPv6Prefix = 64

// clientKey is the rate-limit key of a client address: an IPv4 address as
// is, an IPv6 address cut to its first prefix bits. A value that is no
// address (an odd RemoteAddr) is used as it is.
func clientKey(ip string, prefix int) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, err := addr.WithZone("").Prefix(prefix)
	if err != nil {
		return addr.String()
	}
	return p.String()
}
