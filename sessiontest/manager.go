package sessiontest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
)

// A managerCheck is one behaviour users see through the middleware.
type managerCheck struct {
	name  string
	where applies
	run   func(t *testing.T, h harness)
}

// applies says which stores a managerCheck is for.
type applies int

const (
	allStores       applies = iota
	serverStores            // sessions kept by a sessionkit.Store
	userIndexStores         // client stores, and server stores with sessionkit.UserIndex
)

// runManager runs the manager checks that apply to the stores h builds.
// The others are not registered at all, rather than skipped.
func runManager(t *testing.T, h harness) {
	for _, c := range managerChecks {
		switch {
		case c.where == serverStores && h.client,
			c.where == userIndexStores && !h.client && !h.userIndex:
			continue
		}
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// managerChecks are the behaviours users see through the middleware, run
// as subtests of Middleware (Run) or at the top level (RunClient).
var managerChecks = []managerCheck{
	{"NoCookieNoStoreCall", allStores, checkNoCookieNoStoreCall},
	{"SecureCookieDefaults", allStores, checkSecureCookieDefaults},
	{"RoundTrip", allStores, checkRoundTrip},
	{"ConcurrentUseInOneRequest", allStores, checkConcurrentUseInOneRequest},
	{"StrictMode", allStores, checkStrictMode},
	{"MalformedCookies", allStores, checkMalformedCookies},
	{"TokenNeverStored", serverStores, checkTokenNeverStored},
	{"Renew", allStores, checkRenew},
	{"RenewGrace", serverStores, checkRenewGrace},
	{"Destroy", allStores, checkDestroy},
	{"IdleTimeout", allStores, checkIdleTimeout},
	{"AbsoluteTimeout", allStores, checkAbsoluteTimeout},
	{"TouchThrottled", allStores, checkTouchThrottled},
	{"RememberMe", allStores, checkRememberMe},
	{"ChangeAfterCommit", allStores, checkChangeAfterCommit},
	{"NoMiddleware", allStores, checkNoMiddleware},
	{"Flash", allStores, checkFlash},
	{"SignOutEverywhereElse", userIndexStores, checkSignOutEverywhereElse},
	{"OverlappingRequestsKeepBothKeys", serverStores, checkOverlappingRequestsKeepBothKeys},
	{"SaveAfterParallelDestroy", allStores, checkSaveAfterParallelDestroy},
	{"SaveAfterParallelRenew", allStores, checkSaveAfterParallelRenew},
	{"ShadowingCookies", allStores, checkShadowingCookies},
	{"LargeValue", serverStores, checkLargeValue},
}

// checkNoCookieNoStoreCall checks that a request without a cookie that
// writes nothing sets no cookie and makes no store call.
func checkNoCookieNoStoreCall(t *testing.T, h harness) {
	e := h.env(t, nil)
	res := e.do("", noop)
	res2 := e.do("", func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if _, ok, err := sessionkit.Get[string](s, "x"); ok || err != nil {
			t.Errorf("Get on an empty session = %v, %v", ok, err)
		}
		if s.Status() != sessionkit.StatusNew {
			t.Errorf("Status = %v; want new", s.Status())
		}
	})
	if len(res.Header["Set-Cookie"]) != 0 || len(res2.Header["Set-Cookie"]) != 0 {
		t.Fatal("a session that was never written set a cookie")
	}
	if e.store != nil && e.store.Calls() != 0 {
		t.Fatalf("%d store calls for requests that never wrote", e.store.Calls())
	}
}

// checkSecureCookieDefaults checks that the session cookie gets the secure
// defaults (__Host- prefix, Secure, HttpOnly, SameSite=Lax, no Max-Age),
// Cache-Control: no-store and Vary: Cookie, and a 256-bit token.
func checkSecureCookieDefaults(t *testing.T, h harness) {
	e := h.env(t, nil)
	res := e.do("", func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if err := s.Put("user", "gopher"); err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(w, "hello")
	})
	c := e.cookie(res)
	if c == nil {
		t.Fatal("no session cookie")
	}
	raw := strings.Join(res.Header["Set-Cookie"], "\n")
	if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("cookie attributes = %q", raw)
	}
	if c.MaxAge != 0 || strings.Contains(raw, "Expires") {
		t.Fatalf("a session without remember-me got a persistent cookie: %q", raw)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("Cache-Control = %q; want no-store", got)
	}
	if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Cookie") {
		t.Fatal("no Vary: Cookie on a response that sets the session cookie")
	}
	if !h.client && len(c.Value) < 43 {
		t.Fatalf("token %q is shorter than 256 bits", c.Value)
	}
}

// checkRoundTrip checks that values of several types round-trip through
// requests, with Get, Keys, Pop and the reserved keys.
func checkRoundTrip(t *testing.T, h harness) {
	e := h.env(t, nil)
	type profile struct {
		Name  string         `json:"name"`
		Age   int            `json:"age"`
		Tags  []string       `json:"tags"`
		Extra map[string]any `json:"extra"`
	}
	want := profile{Name: "Gopher ✓", Age: 13, Tags: []string{"a", "b"}, Extra: map[string]any{"k": "v"}}
	c := e.put("", "profile", want)
	c = e.put(c, "count", 41)
	c = e.next(c, e.do(c, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		got, ok, err := sessionkit.Get[profile](s, "profile")
		if err != nil || !ok || got.Name != want.Name || got.Age != want.Age || len(got.Tags) != 2 || got.Extra["k"] != "v" {
			t.Errorf("Get[profile] = %+v, %v, %v", got, ok, err)
		}
		n, _, _ := sessionkit.Get[int](s, "count")
		if n != 41 {
			t.Errorf("Get[int] = %d", n)
		}
		if _, _, err := sessionkit.Get[int](s, "profile"); err == nil {
			t.Error("decoding a struct into an int succeeded")
		}
		if keys := s.Keys(); len(keys) != 2 || keys[0] != "count" || keys[1] != "profile" {
			t.Errorf("Keys = %v", keys)
		}
		v, ok, err := sessionkit.Pop[int](s, "count")
		if v != 41 || !ok || err != nil {
			t.Errorf("Pop = %v, %v, %v", v, ok, err)
		}
		if err := s.Put("sessionkit.flash", "x"); !errors.Is(err, sessionkit.ErrReservedKey) {
			t.Errorf("Put(reserved key) = %v", err)
		}
	}))
	if e.has(c, "count") {
		t.Fatal("Pop did not remove the key")
	}
}

// checkConcurrentUseInOneRequest checks that goroutines of one request can
// use its session at once without losing writes.
func checkConcurrentUseInOneRequest(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.do("", func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				_ = s.Put(fmt.Sprintf("k%02d", i), i)
				_ = s.AddFlash("info", fmt.Sprint(i))
				_, _, _ = sessionkit.Get[int](s, "k00")
				_ = s.Keys()
			})
		}
		wg.Wait()
	})
	cookie := e.cookie(c)
	if cookie == nil {
		t.Fatal("no cookie")
	}
	e.do(cookie.Value, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if n := len(s.Keys()); n != 20 {
			t.Errorf("%d keys survived concurrent Puts; want 20", n)
		}
		if f, _ := s.Flashes(); len(f) != 20 {
			t.Errorf("%d flashes survived concurrent AddFlash; want 20", len(f))
		}
	})
}

// checkStrictMode checks that a well-formed token the server never issued is
// replaced, never adopted.
func checkStrictMode(t *testing.T, h harness) {
	e := h.env(t, nil)
	attacker := randomID(t) // a well-formed token the server never issued
	res := e.do(attacker, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if _, ok, _ := sessionkit.Get[string](s, "user"); ok {
			t.Error("an unknown token carried data")
		}
		_ = s.Put("user", "victim")
	})
	c := e.cookie(res)
	if c == nil || c.Value == attacker {
		t.Fatal("the server adopted a client-chosen token")
	}
	if e.raw != nil {
		if rec, _ := e.raw.Load(ctx(t), sessionkit.HashToken(attacker)); rec != nil {
			t.Fatal("the store holds a record under the attacker's token")
		}
	}
}

// checkMalformedCookies checks that malformed cookies give an empty session
// and never reach the store.
func checkMalformedCookies(t *testing.T, h harness) {
	e := h.env(t, nil)
	for _, v := range []string{"x", strings.Repeat("A", 10<<10), "' OR '1'='1", `{"$ne":null}`, "*", "..", "%00", randomID(t)[:42] + "!"} {
		res := e.do(v, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
			if len(s.Keys()) != 0 {
				t.Errorf("malformed cookie %s gave a session with data", quote(v))
			}
		})
		if res.StatusCode != http.StatusOK {
			t.Errorf("malformed cookie %s: status %d", quote(v), res.StatusCode)
		}
	}
	if e.store != nil && e.store.Calls() != 0 {
		t.Fatalf("malformed cookies reached the store (%d calls)", e.store.Calls())
	}
}

// checkTokenNeverStored checks that the store is keyed by the token's hash,
// never holds the token in any encoding, and that a store key does not work
// as a cookie.
func checkTokenNeverStored(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	if rec, _ := e.raw.Load(ctx(t), c); rec != nil {
		t.Fatal("the store is keyed by the raw token")
	}
	rec, err := e.raw.Load(ctx(t), sessionkit.HashToken(c))
	if err != nil || rec == nil {
		t.Fatalf("no record under the token's hash: %v", err)
	}
	// A store key sent as a cookie is not a session.
	if _, ok := e.get(rec.ID, "user"); ok {
		t.Fatal("a store key works as a cookie")
	}
	if h.dump == nil {
		t.Log("Options.Dump not set: raw backend contents not scanned")
		return
	}
	dump := h.dump(t)
	if !bytes.Contains(dump, []byte(rec.ID)) {
		t.Fatal("Dump does not contain the session's store key; it cannot be trusted")
	}
	for _, form := range tokenForms(c) {
		if bytes.Contains(dump, []byte(form)) {
			t.Fatalf("the backend holds the token (as %q)", form)
		}
	}
}

// checkRenew checks that Renew(true) and Renew(false) issue a new token,
// keep or drop the data, and end the old token.
func checkRenew(t *testing.T, h harness) {
	e := h.env(t, nil)
	old := e.put("", "user", "gopher")
	res := e.do(old, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if err := s.Renew(true); err != nil {
			t.Fatal(err)
		}
		_ = s.Put("after", "renew")
	})
	c := e.cookie(res)
	if c == nil || c.Value == old {
		t.Fatal("Renew did not issue a new token")
	}
	if v, ok := e.get(c.Value, "user"); !ok || v != "gopher" {
		t.Fatal("Renew(true) lost the data")
	}
	if v, _ := e.get(c.Value, "after"); v != "renew" {
		t.Fatal("a value put after Renew was lost")
	}
	if _, ok := e.get(old, "user"); ok {
		t.Fatal("the old token still works after Renew")
	}
	res = e.do(c.Value, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if err := s.Renew(false); err != nil {
			t.Fatal(err)
		}
		_ = s.Put("fresh", "yes")
	})
	c2 := e.cookie(res)
	if c2 == nil || c2.Value == c.Value {
		t.Fatal("Renew(false) did not issue a new token")
	}
	if _, ok := e.get(c2.Value, "user"); ok {
		t.Fatal("Renew(false) kept the data")
	}
	if _, ok := e.get(c.Value, "fresh"); ok {
		t.Fatal("the token before Renew(false) still works")
	}
}

// checkRenewGrace checks that the token replaced by Renew keeps reading the
// session for Config.RenewGrace and no longer, whatever it does meanwhile:
// it cannot write, and neither a write attempt nor a touch extends it.
func checkRenewGrace(t *testing.T, h harness) {
	e := h.env(t, func(c *sessionkit.Config) {
		c.RenewGrace = 10 * time.Second
		c.TouchInterval = time.Millisecond // every request may slide the deadline
	})
	old := e.put("", "user", "gopher")
	res := e.do(old, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if err := s.Renew(true); err != nil {
			t.Error(err)
		}
	})
	renewed := e.cookie(res)
	if renewed == nil || renewed.Value == old {
		t.Fatal("no new token")
	}
	e.clock.Advance(5 * time.Second)
	res = e.do(old, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if v, ok, err := sessionkit.Get[string](s, "user"); err != nil || !ok || v != "gopher" {
			t.Errorf("the old token stopped reading inside the grace window: %q, %v, %v", v, ok, err)
		}
		if err := s.Put("cart", "through the old token"); !errors.Is(err, sessionkit.ErrRenewed) {
			t.Errorf("Put through the old token inside the grace window = %v, want ErrRenewed", err)
		}
	})
	if c := e.cookie(res); c != nil {
		t.Errorf("a request on the old token set the cookie %q", c.String())
	}
	e.clock.Advance(6 * time.Second) // 11 s after the renewal
	if _, ok := e.get(old, "user"); ok {
		t.Fatal("the old token works after the grace window")
	}
	if v, _ := e.get(renewed.Value, "user"); v != "gopher" {
		t.Fatal("the renewed session lost its data")
	}
}

// checkDestroy checks that Destroy expires the cookie, ends every copy of it
// and deletes the record, and that a value put after it starts a new
// session.
func checkDestroy(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	var id string
	res := e.do(c, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		id = s.ID()
		if err := s.Destroy(); err != nil {
			t.Fatal(err)
		}
		if len(s.Keys()) != 0 || s.Status() != sessionkit.StatusDestroyed {
			t.Errorf("after Destroy: keys %v, status %v", s.Keys(), s.Status())
		}
	})
	gone := e.cookie(res)
	if gone == nil || gone.MaxAge >= 0 || gone.Value != "" {
		t.Fatalf("Destroy did not expire the cookie: %v", res.Header["Set-Cookie"])
	}
	if _, ok := e.get(c, "user"); ok {
		t.Fatal("a copied cookie still works after Destroy")
	}
	if e.raw != nil {
		if rec, _ := e.raw.Load(ctx(t), id); rec != nil {
			t.Fatal("Destroy left the record in the store")
		}
	}
	// Destroy, then put: a new session under a new token.
	res = e.do(c, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		_ = s.Destroy()
		_ = s.AddFlash("info", "signed out")
	})
	nc := e.cookie(res)
	if nc == nil || nc.Value == "" || nc.Value == c {
		t.Fatal("a value put after Destroy did not start a new session")
	}
}

// checkIdleTimeout checks that activity inside the idle timeout keeps a
// session and that a session idle for longer ends.
func checkIdleTimeout(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	for range 3 {
		e.clock.Advance(sessionkit.DefaultIdleTimeout - time.Minute)
		res := e.do(c, noop)
		if nc := e.cookie(res); nc != nil && nc.Value != "" {
			c = nc.Value
		}
		if _, ok := e.get(c, "user"); !ok {
			t.Fatal("activity inside the idle timeout did not keep the session")
		}
	}
	e.clock.Advance(sessionkit.DefaultIdleTimeout + time.Second)
	if _, ok := e.get(c, "user"); ok {
		t.Fatal("the session outlived its idle timeout")
	}
}

// checkAbsoluteTimeout checks that activity never extends a session past its
// absolute lifetime.
func checkAbsoluteTimeout(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	for elapsed := time.Duration(0); elapsed < sessionkit.DefaultLifetime-20*time.Minute; elapsed += 20 * time.Minute {
		e.clock.Advance(20 * time.Minute)
		res := e.do(c, noop)
		if nc := e.cookie(res); nc != nil && nc.Value != "" {
			c = nc.Value
		}
	}
	if _, ok := e.get(c, "user"); !ok {
		t.Fatal("an active session ended before its lifetime")
	}
	e.clock.Advance(21 * time.Minute)
	if _, ok := e.get(c, "user"); ok {
		t.Fatal("activity extended the session past its absolute lifetime")
	}
}

// checkTouchThrottled checks that reads inside the touch interval write
// nothing and that the first read after it touches the session once.
func checkTouchThrottled(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	if e.store == nil {
		// A client store has no writes to count; it must not re-send
		// the cookie inside the touch interval either.
		e.clock.Advance(10 * time.Second)
		if e.cookie(e.do(c, noop)) != nil {
			t.Fatal("a read inside the touch interval re-sent the cookie")
		}
		e.clock.Advance(sessionkit.DefaultTouchInterval)
		if e.cookie(e.do(c, noop)) == nil {
			t.Fatal("no re-sealed cookie after the touch interval")
		}
		return
	}
	before := e.store.Writes()
	for range 5 {
		e.clock.Advance(10 * time.Second)
		e.do(c, noop)
	}
	if w := e.store.Writes() - before; w != 0 {
		t.Fatalf("%d store writes for reads inside the touch interval; want 0", w)
	}
	e.clock.Advance(sessionkit.DefaultTouchInterval)
	e.do(c, noop)
	if w := e.store.Touches.Load(); w != 1 {
		t.Fatalf("%d touches after the touch interval; want 1", w)
	}
	if e.store.Updates.Load() != 0 {
		t.Fatal("a read-only request rewrote the session")
	}
}

// checkRememberMe checks that remember-me sessions get a persistent cookie
// that slides with activity, outlive the browser-session idle timeout and
// end at the remember-me lifetime, and that RememberMe(false) undoes it.
func checkRememberMe(t *testing.T, h harness) {
	e := h.env(t, nil)
	res := e.do("", func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		_ = s.Put("user", "gopher")
		_ = s.RememberMe(true)
	})
	c := e.cookie(res)
	if c == nil {
		t.Fatal("no cookie")
	}
	want := int(sessionkit.DefaultRememberMeIdleTimeout / time.Second)
	if c.MaxAge < want-2 || c.MaxAge > want {
		t.Fatalf("remember-me Max-Age = %d; want about %d", c.MaxAge, want)
	}
	// Sliding the idle deadline re-sends the cookie with the new Max-Age.
	e.clock.Advance(2 * time.Hour)
	res = e.do(c.Value, noop)
	c2 := e.cookie(res)
	if c2 == nil {
		t.Fatal("the server slid a persistent session without re-sending its cookie")
	}
	if c2.Expires.Sub(c.Expires) < time.Hour {
		t.Fatalf("re-sent cookie expires %v; want about 2h after %v", c2.Expires, c.Expires)
	}
	// Survives longer than the browser-session idle timeout…
	e.clock.Advance(3 * 24 * time.Hour)
	if _, ok := e.get(c2.Value, "user"); !ok {
		t.Fatal("a remembered session ended inside its idle window")
	}
	// …but not past the remember-me lifetime.
	for range 9 {
		e.clock.Advance(3 * 24 * time.Hour)
		if nc := e.cookie(e.do(c2.Value, noop)); nc != nil && nc.Value != "" {
			c2 = nc
		}
	}
	if _, ok := e.get(c2.Value, "user"); ok {
		t.Fatal("a remembered session outlived the remember-me lifetime")
	}
	// Turning it off gives a browser-session cookie again.
	res = e.do("", func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		_ = s.Put("user", "gopher")
		_ = s.RememberMe(true)
		_ = s.RememberMe(false)
	})
	if c := e.cookie(res); c == nil || c.MaxAge != 0 {
		t.Fatal("RememberMe(false) still set a persistent cookie")
	}
}

// checkChangeAfterCommit checks that changes after the response has started
// are refused with ErrCommitted and not saved.
func checkChangeAfterCommit(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	e.do(c, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		fmt.Fprint(w, "body first")
		if err := s.Put("late", 1); !errors.Is(err, sessionkit.ErrCommitted) {
			t.Errorf("Put after the response started = %v; want ErrCommitted", err)
		}
		if err := s.Destroy(); !errors.Is(err, sessionkit.ErrCommitted) {
			t.Errorf("Destroy after the response started = %v; want ErrCommitted", err)
		}
	})
	if _, ok := e.get(c, "late"); ok {
		t.Fatal("a late Put was saved")
	}
	if _, ok := e.get(c, "user"); !ok {
		t.Fatal("a refused Destroy ended the session")
	}
}

// checkNoMiddleware checks that a session used outside the middleware
// returns ErrNoSession from every method.
func checkNoMiddleware(t *testing.T, h harness) {
	e := h.env(t, nil)
	s := e.m.Session(context.Background())
	if err := s.Put("k", 1); !errors.Is(err, sessionkit.ErrNoSession) {
		t.Errorf("Put without middleware = %v", err)
	}
	if _, _, err := sessionkit.Get[int](s, "k"); !errors.Is(err, sessionkit.ErrNoSession) {
		t.Errorf("Get without middleware = %v", err)
	}
	for name, err := range map[string]error{"Renew": s.Renew(true), "Destroy": s.Destroy(), "RememberMe": s.RememberMe(true), "SetUserID": s.SetUserID("u"), "AddFlash": s.AddFlash("", "")} {
		if !errors.Is(err, sessionkit.ErrNoSession) {
			t.Errorf("%s without middleware = %v", name, err)
		}
	}
}

// checkFlash checks that a flash message survives a redirect and is shown
// once.
func checkFlash(t *testing.T, h harness) {
	e := h.env(t, nil)
	res := e.do("", func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		_ = s.AddFlash("success", "Welcome back")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	c := e.cookie(res)
	if c == nil {
		t.Fatal("no cookie with the redirect")
	}
	next := e.next(c.Value, e.do(c.Value, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		f, err := s.Flashes()
		if err != nil || len(f) != 1 || f[0].Kind != "success" || f[0].Message != "Welcome back" {
			t.Errorf("Flashes = %v, %v", f, err)
		}
	}))
	e.do(next, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if f, _ := s.Flashes(); len(f) != 0 {
			t.Errorf("flash shown twice: %v", f)
		}
	})
}

// checkSignOutEverywhereElse checks that UserSessions lists a user's devices
// without their tokens or values, and RevokeOtherSessions signs out every
// device but the current one.
func checkSignOutEverywhereElse(t *testing.T, h harness) {
	e := h.env(t, nil)
	user := "user-" + randomID(t)
	login := func() string {
		res := e.do("", func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
			_ = s.SetUserID(user)
			_ = s.Put("name", "gopher")
		})
		return e.cookie(res).Value
	}
	laptop, phone := login(), login()
	e.clock.Advance(time.Second)
	if !h.client {
		list, err := e.m.UserSessions(ctx(t), user)
		if err != nil || len(list) != 2 {
			t.Fatalf("UserSessions = %d entries, %v; want 2", len(list), err)
		}
		if list[0].Meta["ua"] != "sessiontest-agent" {
			t.Fatalf("listing lacks the user agent: %+v", list[0])
		}
		js, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		listing := fmt.Sprintf("%s %+v", js, list)
		for _, form := range append(tokenForms(laptop), tokenForms(phone)...) {
			if strings.Contains(listing, form) {
				t.Fatalf("the listing holds a token (as %q): %s", form, listing)
			}
		}
		if strings.Contains(listing, "gopher") {
			t.Fatalf("the listing holds a session value: %s", listing)
		}
	}
	res := e.do(laptop, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if _, err := s.RevokeOtherSessions(); err != nil {
			t.Fatalf("RevokeOtherSessions: %v", err)
		}
	})
	if nc := e.cookie(res); nc != nil {
		laptop = nc.Value
	}
	if _, ok := e.get(phone, "name"); ok {
		t.Fatal("the other device is still signed in")
	}
	if _, ok := e.get(laptop, "name"); !ok {
		t.Fatal("the current device was signed out")
	}
}

// checkOverlappingRequestsKeepBothKeys checks that two overlapping requests
// that change different keys both keep their change.
func checkOverlappingRequestsKeepBothKeys(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	loaded := make(chan struct{}, 2)
	proceed := make(chan struct{})
	var wg sync.WaitGroup
	for _, key := range []string{"cart", "theme"} {
		wg.Go(func() {
			e.do(c, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
				loaded <- struct{}{}
				<-proceed
				_ = s.Put(key, key+"-value")
			})
		})
	}
	<-loaded
	<-loaded
	close(proceed)
	wg.Wait()
	for _, key := range []string{"cart", "theme", "user"} {
		if _, ok := e.get(c, key); !ok {
			t.Errorf("key %q lost between overlapping requests", key)
		}
	}
}

// checkSaveAfterParallelDestroy checks that a save that arrives after a
// parallel request destroyed the session does not bring it back.
func checkSaveAfterParallelDestroy(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	res, _ := e.lateWrite(c, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) { _ = s.Destroy() })
	if res.StatusCode != http.StatusOK {
		t.Fatalf("late save answered %d", res.StatusCode)
	}
	if _, ok := e.get(c, "user"); ok {
		t.Fatal("a save after a parallel Destroy brought the session back")
	}
}

// checkSaveAfterParallelRenew checks that a request that loaded the session
// before a parallel request renewed it drops its own changes without
// expiring the cookie: its response, arriving after the renewal's, must
// not delete the renewed cookie from the browser.
func checkSaveAfterParallelRenew(t *testing.T, h harness) {
	e := h.env(t, nil)
	c := e.put("", "user", "gopher")
	res, other := e.lateWrite(c, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
		if err := s.Renew(true); err != nil {
			t.Error(err)
		}
	})
	renewed := e.cookie(other)
	if renewed == nil {
		t.Fatal("Renew set no cookie")
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("late save answered %d", res.StatusCode)
	}
	if lc := e.cookie(res); lc != nil {
		t.Fatalf("the late response set %q, which replaces the renewed cookie", lc.String())
	}
	if v, _ := e.get(renewed.Value, "user"); v != "gopher" {
		t.Fatal("the renewed session lost its data")
	}
	if _, ok := e.get(c, "user"); ok {
		t.Fatal("the late save brought the old session back")
	}
}

// checkShadowingCookies checks that a dead cookie of the session's name
// sent next to the live one (a shadowing cookie from a sibling domain or
// another path) neither hides the session nor gets the live cookie
// expired, and that a request carrying only dead ones gets its cookie
// expired.
func checkShadowingCookies(t *testing.T, h harness) {
	e := h.env(t, nil)
	live := e.put("", "user", "gopher")
	ended := e.put("", "user", "someone")
	e.do(ended, func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) { _ = s.Destroy() })
	for _, values := range [][]string{{"junk", live}, {ended, live}, {live, "junk"}, {"a", "b", "c", "d", live}} {
		res := e.doCookies(func(w http.ResponseWriter, r *http.Request, s *sessionkit.Session) {
			if v, _, err := sessionkit.Get[string](s, "user"); err != nil || v != "gopher" {
				t.Errorf("cookies %q: user = %q, %v; want the live session's", values, v, err)
			}
		}, values...)
		if c := e.cookie(res); c != nil && c.MaxAge < 0 {
			t.Errorf("cookies %q: the response expires the session cookie", values)
		}
	}
	res := e.doCookies(noop, "junk", ended)
	if c := e.cookie(res); c == nil || c.MaxAge >= 0 {
		t.Error("a request carrying only dead cookies did not get its cookie expired")
	}
}

// checkLargeValue checks that a 120 KiB value round-trips.
func checkLargeValue(t *testing.T, h harness) {
	e := h.env(t, nil)
	big := strings.Repeat("€uro ", 20<<10) // 120 KiB
	c := e.put("", "big", big)
	if v, _ := e.get(c, "big"); v != big {
		t.Fatal("a large value did not round-trip")
	}
}

// tokenForms returns the encodings in which a leaked token might appear.
func tokenForms(token string) []string {
	forms := []string{token}
	if b, err := base64RawURL(token); err == nil {
		forms = append(forms, fmt.Sprintf("%x", b), base64Std(b))
	}
	return forms
}
