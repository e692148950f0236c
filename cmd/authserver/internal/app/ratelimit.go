package app

import (
	"sync"
	"time"
)

// Limiter counts failures per key in fixed windows: once a key has Max
// failures within Window of its first failure, it is blocked until that
// window ends. It keeps its state in memory, so each app instance counts on
// its own.
type Limiter struct {
	Max    int
	Window time.Duration
	now    func() time.Time

	mu        sync.Mutex
	entries   map[string]*limitEntry
	nextSweep time.Time
}

type limitEntry struct {
	count int
	reset time.Time
}

// NewLimiter returns a Limiter allowing max failures per window.
func NewLimiter(max int, window time.Duration, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{Max: max, Window: window, now: now, entries: make(map[string]*limitEntry)}
}

// Blocked reports whether key has used up its failures, and for how long it
// stays blocked.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e := l.entries[key]
	if e == nil || !now.Before(e.reset) {
		return false, 0
	}
	if e.count >= l.Max {
		return true, e.reset.Sub(now)
	}
	return false, 0
}

// Fail records a failure for key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	e := l.entries[key]
	if e == nil || !now.Before(e.reset) {
		e = &limitEntry{reset: now.Add(l.Window)}
		l.entries[key] = e
	}
	e.count++
}

// Reset forgets the failures of key.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// sweep drops ended windows, at most once per window. l.mu must be held.
func (l *Limiter) sweep(now time.Time) {
	if now.Before(l.nextSweep) {
		return
	}
	l.nextSweep = now.Add(l.Window)
	for k, e := range l.entries {
		if !now.Before(e.reset) {
			delete(l.entries, k)
		}
	}
}
