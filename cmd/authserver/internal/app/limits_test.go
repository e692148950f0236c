package app

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

// burst sends n logins for user at once from c and counts the answers by
// status.
func burst(t *testing.T, c *apptest.Client, n int, user string, headers ...string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[int]int{}
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := <-c.PostLater("/login", apptest.Form("username", user, "password", "wrong guess "+strconv.Itoa(i)), headers...)
			if r == nil {
				return
			}
			mu.Lock()
			counts[r.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

// Defect 1: the limits count a guess before the password hash runs, so a
// burst of parallel guesses gets no more checks than sequential ones.
func TestConcurrentGuessesCountedBeforeHashing(t *testing.T) {
	t.Parallel()
	const limit = 10
	e := newEnv(t, func(o *envOptions) {
		o.opts.LoginFailuresPerAccountAndIP = limit
		o.opts.HashWait = time.Minute // a slow machine queues; nothing is refused as busy
	})
	apptest.MustSeeOther(t, e.client("owner").Register("olivia", apptest.TestPassword), "/")
	attacker := e.client("attacker")

	counts := burst(t, attacker, 200, "olivia")
	t.Logf("200 parallel guesses: %v", counts)
	if counts[http.StatusUnauthorized] > limit || counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != 200 {
		t.Fatalf("200 parallel wrong passwords: %v; want at most %d checked (401), the rest 429", counts, limit)
	}
	if r := attacker.Login("olivia", apptest.TestPassword, false); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password after the burst: %d, want 429", r.StatusCode)
	}
}

// The second observation: 59 parallel guesses, then the right
// password from the same client a moment later, which must be throttled.
func TestGuessBurstThenRightPasswordThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) { o.opts.HashWait = time.Minute })
	apptest.MustSeeOther(t, e.client("owner").Register("oscar", apptest.TestPassword), "/")
	attacker := e.client("attacker")
	var counts map[int]int
	done := make(chan struct{})
	go func() { counts = burst(t, attacker, 59, "oscar"); close(done) }()
	// The right password arrives while the guesses are in flight: once
	// they have taken the client's budget (on the old code, once they
	// had passed the check).
	for deadline := time.Now().Add(20 * time.Second); e.app.pairFail.count("oscar 127.0.0.1") < DefaultLoginFailuresPerAccountAndIP; {
		if time.Now().After(deadline) {
			t.Fatal("the guesses never reached the limiter")
		}
		time.Sleep(10 * time.Millisecond)
	}
	right := attacker.Login("oscar", apptest.TestPassword, false)
	<-done
	t.Logf("59 parallel guesses: %v; then the right password: %d", counts, right.StatusCode)
	if counts[http.StatusUnauthorized] > DefaultLoginFailuresPerAccountAndIP {
		t.Errorf("%d of 59 parallel guesses were checked, want at most %d", counts[http.StatusUnauthorized], DefaultLoginFailuresPerAccountAndIP)
	}
	if right.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password after the burst: %d, want 429", right.StatusCode)
	}
}

// count returns the attempts counted for key.
func (l *Limiter) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.entries[key]; e != nil {
		return e.count
	}
	return 0
}

// fakeClock is a settable clock for the limits.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// The account lockout is gone: an attacker who used up the guesses of one
// network is stopped, while the owner, from another network, still signs
// in (after at most the account's short delay).
func TestNoAccountLockout(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()} // the memory store expires by the real clock
	e := newEnv(t, func(o *envOptions) {
		o.opts.LoginFailuresPerAccountAndIP = 3
		o.opts.AccountFreeFailures = 3
		o.opts.Now = clock.Now
		o.opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	apptest.MustSeeOther(t, e.client("owner").Register("frank", apptest.TestPassword), "/")
	from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
	attacker := e.client("attacker")
	login := func(c *apptest.Client, user, pass, ip string) *apptest.Resp {
		t.Helper()
		return c.Post("/login", apptest.Form("username", user, "password", pass), from(ip)...)
	}
	for i := range 3 {
		if r := login(attacker, "frank", "guess number "+strconv.Itoa(i), "203.0.113.9"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, r.StatusCode)
		}
	}
	// The attacker's network is done for the window, whatever the name's
	// case and even with the right password.
	r := login(attacker, "FRANK", "guess number 4", "203.0.113.9")
	if r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("4th guess: %d, want 429", r.StatusCode)
	}
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra <= 0 || ra > int(DefaultLoginWindow.Seconds()) {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	if r := login(attacker, "frank", apptest.TestPassword, "203.0.113.9"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right password from the attacker's network: %d, want 429", r.StatusCode)
	}

	// The owner, elsewhere: the account asks for a 1 s pause after its
	// free failures, no lockout.
	owner := e.client("owner elsewhere")
	r = login(owner, "frank", apptest.TestPassword, "198.51.100.7")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("owner right after the guesses: %d Retry-After %q, want 429 and 1 s", r.StatusCode, r.Header.Get("Retry-After"))
	}
	clock.Advance(time.Second)
	apptest.MustSeeOther(t, login(owner, "frank", apptest.TestPassword, "198.51.100.7"), "/")
	owner.LoggedInAs("frank")
	// The owner's success does not free the attacker.
	clock.Advance(time.Minute)
	if r := login(attacker, "frank", "guess number 5", "203.0.113.9"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("attacker after the owner's login: %d, want 429", r.StatusCode)
	}

	// Guesses spread over many networks are slowed down per account: 1 s,
	// 2 s, 4 s, … between attempts.
	for i, d := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		ip := "192.0.2." + strconv.Itoa(10+i)
		if r := login(e.client("bot"), "frank", "spread guess", ip); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("spread guess %d: %d, want 401", i, r.StatusCode)
		}
		r := login(e.client("bot"), "frank", "spread guess", "192.0.2.99")
		if want := strconv.Itoa(int(d.Seconds())); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != want {
			t.Fatalf("guess right after spread guess %d: %d Retry-After %q, want 429 and %s s", i, r.StatusCode, r.Header.Get("Retry-After"), want)
		}
		clock.Advance(d)
	}
	// Other accounts are not affected, and an unknown account is throttled
	// like a known one.
	apptest.MustSeeOther(t, e.client("g").Register("grace", apptest.TestPassword), "/")
	apptest.MustSeeOther(t, login(e.client("g2"), "grace", apptest.TestPassword, "203.0.113.9"), "/")
	for range 3 {
		login(attacker, "ghost", "whatever pass", "203.0.113.9")
	}
	if r := login(attacker, "ghost", "whatever pass", "203.0.113.9"); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("unknown account: %d, want 429 too", r.StatusCode)
	}
	// After the window the attacker's network may try again.
	clock.Advance(DefaultLoginWindow)
	if r := login(attacker, "frank", "guess number 6", "203.0.113.9"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("after the window: %d, want 401", r.StatusCode)
	}
}

// Defect 4: a login that finds no hashing slot in time answers 503 with
// Retry-After, and counts against nothing.
func TestLoginBusyAnswers503AndCountsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) {
		o.opts.LoginFailuresPerIP = 1
		o.opts.LoginFailuresPerAccountAndIP = 1
		o.opts.AccountFreeFailures = 1
		o.opts.RegistrationsPerIP = 2
		o.opts.HashWait = 50 * time.Millisecond
	})
	c := e.client("c")
	apptest.MustSeeOther(t, c.Register("hannah", apptest.TestPassword), "/")
	apptest.MustSeeOther(t, c.Logout(), "/login")

	for range cap(e.app.hashSem) { // every slot busy
		e.app.hashSem <- struct{}{}
	}
	for _, pass := range []string{"wrong password 1", "wrong password 2", apptest.TestPassword} {
		r := c.Login("hannah", pass, false)
		if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
			t.Fatalf("login while busy: %d Retry-After %q, want 503 with Retry-After", r.StatusCode, r.Header.Get("Retry-After"))
		}
		if strings.Contains(r.Text, genericLoginError) {
			t.Error("a busy server answered as if the password were wrong")
		}
	}
	if r := c.Register("hector", apptest.TestPassword); r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("registration while busy: %d, want 503", r.StatusCode)
	}
	for range cap(e.app.hashSem) {
		<-e.app.hashSem
	}
	// Nothing was counted: with limits of 1, the right password still
	// passes, and one more registration is allowed.
	apptest.MustSeeOther(t, c.Login("hannah", apptest.TestPassword, false), "/")
	apptest.MustSeeOther(t, e.client("d").Register("hector", apptest.TestPassword), "/")
	if !strings.Contains(e.logs.String(), "no password hashing slot free") {
		t.Error("busy logins not logged")
	}
}

// Defect 7: IPv6 clients are limited per /64 (or the configured prefix),
// IPv4 clients per address.
func TestIPv6ClientsLimitedPerPrefix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix    int
		sameLimit bool // does 2001:db8:1:2:ffff::9 share the budget of 2001:db8:1:2::1?
	}{{0, true}, {64, true}, {128, false}} {
		e := newEnv(t, func(o *envOptions) {
			o.opts.LoginFailuresPerIP = 2
			o.opts.IPv6Prefix = tc.prefix
			o.opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		c := e.client("proxy")
		login := func(user, ip string) int {
			return c.Post("/login", apptest.Form("username", user, "password", "bad password"), "X-Forwarded-For", ip).StatusCode
		}
		login("u1", "2001:db8:1:2::1")
		login("u2", "2001:db8:1:2::1")
		want := http.StatusUnauthorized
		if tc.sameLimit {
			want = http.StatusTooManyRequests
		}
		if got := login("u3", "2001:db8:1:2:ffff::9"); got != want {
			t.Errorf("prefix %d: another address in the /64: %d, want %d", tc.prefix, got, want)
		}
		if got := login("u4", "2001:db8:1:3::1"); got != http.StatusUnauthorized {
			t.Errorf("prefix %d: the next /64: %d, want 401", tc.prefix, got)
		}
		// IPv4: each address on its own.
		login("u5", "192.0.2.1")
		login("u6", "192.0.2.1")
		if got := login("u7", "192.0.2.2"); got != http.StatusUnauthorized {
			t.Errorf("prefix %d: the next IPv4 address: %d, want 401", tc.prefix, got)
		}
		if got := login("u8", "192.0.2.1"); got != http.StatusTooManyRequests {
			t.Errorf("prefix %d: IPv4 address over its limit: %d, want 429", tc.prefix, got)
		}
	}
}
