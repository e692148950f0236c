package remember_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/sudo"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// app is a small server with sessions and remember-me.
type app struct {
	clock    *clock
	sessions *sessionkit.Manager
	store    *remember.MemoryStore
	rm       *remember.Manager
	handler  http.Handler

	mu     sync.Mutex
	thefts []remember.Theft
}

func newApp(t *testing.T, tweak ...func(*sessionkit.Config)) *app {
	t.Helper()
	// The clock starts at the real time: memstore expires records by its own clock.
	a := &app{clock: &clock{now: time.Now().Truncate(time.Second)}, store: remember.NewMemoryStore()}
	ms := memstore.New(memstore.Options{})
	t.Cleanup(func() { ms.Close() })
	cfg := sessionkit.Config{Store: ms, Now: a.clock.Now}
	for _, f := range tweak {
		f(&cfg)
	}
	var err error
	a.sessions, err = sessionkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.rm, err = remember.New(remember.Config{
		Sessions: a.sessions, Store: a.store, Now: a.clock.Now,
		OnTheft: func(ctx context.Context, th remember.Theft) {
			a.mu.Lock()
			a.thefts = append(a.thefts, th)
			a.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := a.sessions.Session(r.Context())
		if err := s.Renew(false); err != nil {
			t.Error(err)
		}
		s.SetUserID(r.FormValue("user"))
		sudo.MarkAuthenticated(s, sudo.MethodPassword)
		if err := a.rm.Issue(w, r, r.FormValue("user")); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := a.rm.Forget(w, r); err != nil {
			t.Error(err)
		}
		a.sessions.Session(r.Context()).Destroy()
	})
	// whoami answers "user fresh": the session's user and whether it is fresh.
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		s := a.sessions.Session(r.Context())
		fmt.Fprintf(w, "%s %v", s.UserID(), sudo.Fresh(s, time.Hour))
	})
	a.handler = a.sessions.Middleware(a.rm.Middleware(mux))
	return a
}

// client is a browser with a cookie jar that knows only cookie names.
type client struct {
	a       *app
	cookies map[string]string
}

func (a *app) client() *client { return &client{a: a, cookies: map[string]string{}} }

// do sends a request with the client's cookies, stores the cookies of the
// answer and returns the answer.
func (c *client) do(method, target string) *http.Response {
	req := httptest.NewRequest(method, "https://example.test"+target, nil)
	for name, value := range c.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	rr := httptest.NewRecorder()
	c.a.handler.ServeHTTP(rr, req)
	res := rr.Result()
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return res
}

func (c *client) whoami(t *testing.T) string {
	t.Helper()
	return readAll(t, c.do("GET", "/whoami"))
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// clone returns a second browser with a copy of c's cookies (a stolen
// cookie jar).
func (c *client) clone() *client {
	d := c.a.client()
	for k, v := range c.cookies {
		d.cookies[k] = v
	}
	return d
}

const cookieName = remember.DefaultCookieName

// loggedInWithRememberMe returns a browser that logged in as u1 with
// remember-me and then lost its session cookie (a browser restart after the
// session ended).
func loggedInWithRememberMe(t *testing.T, a *app) *client {
	t.Helper()
	c := a.client()
	c.do("POST", "/login?user=u1")
	if c.cookies[cookieName] == "" || c.cookies[sessionkit.DefaultCookieName] == "" {
		t.Fatalf("login set cookies %v", c.cookies)
	}
	if got := c.whoami(t); got != "u1 true" {
		t.Fatalf("after login: %q, want \"u1 true\"", got)
	}
	delete(c.cookies, sessionkit.DefaultCookieName)
	return c
}

func TestRestoreStartsANewSessionAndRotates(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	old := c.cookies[cookieName]

	res := c.do("GET", "/whoami")
	if got := readAll(t, res); got != "u1 false" {
		t.Fatalf("restored: %q, want \"u1 false\" (logged in, never fresh)", got)
	}
	if c.cookies[sessionkit.DefaultCookieName] == "" {
		t.Error("no session cookie after the restore")
	}
	if c.cookies[cookieName] == old || c.cookies[cookieName] == "" {
		t.Errorf("remember cookie not rotated: %q", c.cookies[cookieName])
	}
	var rc *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == cookieName {
			rc = ck
		}
	}
	if rc == nil || !rc.Secure || !rc.HttpOnly || rc.Path != "/" || rc.Domain != "" || rc.SameSite != http.SameSiteLaxMode {
		t.Errorf("remember cookie attributes: %+v", rc)
	}
	if sel, _, _ := strings.Cut(old, "."); !strings.HasPrefix(c.cookies[cookieName], sel+".") {
		t.Errorf("rotation changed the selector: %q -> %q", old, c.cookies[cookieName])
	}
	// The session, not the token, serves the next requests: no rotation.
	now := c.cookies[cookieName]
	if got := c.whoami(t); got != "u1 false" || c.cookies[cookieName] != now {
		t.Errorf("next request: %q, remember cookie %q (was %q)", got, c.cookies[cookieName], now)
	}
	// The store holds no validator.
	sel, val, _ := strings.Cut(now, ".")
	tok, err := a.store.Get(context.Background(), sel)
	if err != nil {
		t.Fatal(err)
	}
	if dump := fmt.Sprintf("%+v %x", tok, tok.Hash); strings.Contains(dump, val) {
		t.Error("the store holds the raw validator")
	}
}

func TestGraceForParallelRequestsThenTheft(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	thief := c.clone()

	// The browser sends two requests before it sees the rotated cookie:
	// both are logged in.
	if got := c.whoami(t); got != "u1 false" {
		t.Fatalf("first restore: %q", got)
	}
	a.clock.Advance(20 * time.Second)
	if got := thief.clone().whoami(t); got != "u1 false" {
		t.Fatalf("old validator within the grace: %q, want logged in", got)
	}
	if len(a.thefts) != 0 {
		t.Fatalf("theft reported within the grace: %+v", a.thefts)
	}

	// After the grace, the old validator is theft: everything of u1 ends.
	a.clock.Advance(11 * time.Second)
	if got := thief.whoami(t); got != " false" {
		t.Fatalf("old validator after the grace: %q, want anonymous", got)
	}
	if _, ok := thief.cookies[cookieName]; ok {
		t.Error("the reused cookie was not expired")
	}
	if len(a.thefts) != 1 || a.thefts[0].UserID != "u1" || a.thefts[0].Tokens != 1 || a.thefts[0].Sessions < 1 || a.thefts[0].Err != nil {
		t.Fatalf("theft events: %+v", a.thefts)
	}
	// The legitimate browser's session and newest token are gone too.
	if got := c.whoami(t); got != " false" {
		t.Errorf("victim's session after the theft: %q, want anonymous", got)
	}
	delete(c.cookies, sessionkit.DefaultCookieName)
	if got := c.whoami(t); got != " false" {
		t.Errorf("victim's newest token after the theft: %q, want rejected", got)
	}
}

func TestParallelRestores(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	var wg sync.WaitGroup
	results := make(chan string, 16)
	for range 16 {
		b := c.clone()
		wg.Go(func() { results <- b.whoami(t) })
	}
	wg.Wait()
	close(results)
	for got := range results {
		if got != "u1 false" {
			t.Errorf("parallel restore: %q, want \"u1 false\"", got)
		}
	}
	if len(a.thefts) != 0 {
		t.Errorf("parallel restores reported as theft: %+v", a.thefts)
	}
}

func TestExpiryIsNotExtendedByRotation(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	for range 29 {
		a.clock.Advance(24 * time.Hour)
		delete(c.cookies, sessionkit.DefaultCookieName)
		if got := c.whoami(t); got != "u1 false" {
			t.Fatalf("day %v: %q", a.clock.Now(), got)
		}
	}
	a.clock.Advance(24 * time.Hour)
	delete(c.cookies, sessionkit.DefaultCookieName)
	req := httptest.NewRequest("GET", "https://example.test/", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: c.cookies[cookieName]})
	rr := httptest.NewRecorder()
	var err error
	a.sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err = a.rm.Restore(w, r)
	})).ServeHTTP(rr, req)
	if !errors.Is(err, remember.ErrExpired) {
		t.Fatalf("after 30 days: %v, want ErrExpired", err)
	}
	if n, _ := a.store.DeleteExpired(context.Background(), time.Time{}.Add(1<<62)); n != 0 {
		t.Errorf("the expired token is still stored (%d tokens)", n)
	}
	if len(a.thefts) != 0 {
		t.Errorf("thefts: %+v", a.thefts)
	}
}

func TestBadCookies(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	sel, val, _ := strings.Cut(c.cookies[cookieName], ".")
	unknown := strings.Repeat("A", len(sel)) + "." + val
	flipped := sel + "." + strings.Repeat("B", len(val)-1) + "A"
	cases := []struct {
		name, value string
		want        error
	}{
		{"empty", "", remember.ErrMalformed},
		{"no dot", sel + val, remember.ErrMalformed},
		{"short validator", sel + "." + val[1:], remember.ErrMalformed},
		{"padding", sel + "." + val + "=", remember.ErrMalformed},
		{"not base64url", sel + "." + strings.Repeat("+", len(val)), remember.ErrMalformed},
		{"unknown selector", unknown, remember.ErrNotFound},
		// A known selector with a wrong validator can only come from a copy
		// of the cookie: the theft response.
		{"forged validator", flipped, remember.ErrTheft},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "https://example.test/", nil)
			req.AddCookie(&http.Cookie{Name: cookieName, Value: tc.value})
			rr := httptest.NewRecorder()
			var err error
			var user string
			a.sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				user, err = a.rm.Restore(w, r)
			})).ServeHTTP(rr, req)
			if !errors.Is(err, tc.want) || user != "" {
				t.Errorf("Restore = %q, %v; want %v", user, err, tc.want)
			}
			expired := false
			for _, ck := range rr.Result().Cookies() {
				if ck.Name == cookieName && ck.MaxAge < 0 {
					expired = true
				}
			}
			if !expired {
				t.Error("the bad cookie was not expired")
			}
		})
	}
}

func TestShadowingCookieIsSkipped(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	req := httptest.NewRequest("GET", "https://example.test/whoami", nil)
	req.Header.Set("Cookie", cookieName+"=junk; "+cookieName+"="+c.cookies[cookieName])
	rr := httptest.NewRecorder()
	a.handler.ServeHTTP(rr, req)
	if got := rr.Body.String(); got != "u1 false" {
		t.Errorf("junk cookie before the real one: %q, want \"u1 false\"", got)
	}
}

func TestForget(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	other := loggedInWithRememberMe(t, a)

	// Logout removes this device's token only.
	c.whoami(t)
	c.do("POST", "/logout")
	if _, ok := c.cookies[cookieName]; ok {
		t.Error("logout left the remember cookie")
	}
	if got := other.clone().whoami(t); got != "u1 false" {
		t.Errorf("another device after a logout: %q", got)
	}

	// A password change removes every token.
	if n, err := a.rm.ForgetUser(context.Background(), "u1"); err != nil || n != 1 {
		t.Errorf("ForgetUser = %d, %v; want 1", n, err)
	}
	delete(other.cookies, sessionkit.DefaultCookieName)
	if got := other.whoami(t); got != " false" {
		t.Errorf("token after ForgetUser: %q, want rejected", got)
	}
	if len(a.thefts) != 0 {
		t.Errorf("thefts: %+v", a.thefts)
	}
}

func TestNew(t *testing.T) {
	ms := memstore.New(memstore.Options{})
	defer ms.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: ms})
	if err != nil {
		t.Fatal(err)
	}
	st := remember.NewMemoryStore()
	for _, cfg := range []remember.Config{
		{Store: st},
		{Sessions: sessions},
		{Sessions: sessions, Store: st, Grace: time.Hour, Lifetime: time.Minute},
		{Sessions: sessions, Store: st, Insecure: true, CookieName: "__Host-remember"},
		{Sessions: sessions, Store: st, CookieName: "bad name"},
	} {
		if _, err := remember.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// barrierStore lets every Rotate wait until n Gets happened, so that n
// parallel restores all read the token before any of them rotates it.
type barrierStore struct {
	*remember.MemoryStore
	gets sync.WaitGroup
	seen sync.Map // request contexts whose first Get was counted
}

func (s *barrierStore) Get(ctx context.Context, sel string) (remember.Token, error) {
	t, err := s.MemoryStore.Get(ctx, sel)
	if _, done := s.seen.LoadOrStore(ctx, true); !done {
		s.gets.Done()
	}
	return t, err
}

func (s *barrierStore) Rotate(ctx context.Context, sel string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	s.gets.Wait()
	return s.MemoryStore.Rotate(ctx, sel, oldHash, newHash, graceUntil)
}

// Two requests that both read the token before either rotates it: one
// rotation wins, the other request finds its validator replaced within the
// grace, and both are logged in.
func TestRotationRace(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	bs := &barrierStore{MemoryStore: a.store}
	bs.gets.Add(2)
	var err error
	a.rm, err = remember.New(remember.Config{Sessions: a.sessions, Store: bs, Now: a.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	users := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		req := httptest.NewRequest("GET", "https://example.test/", nil)
		req.AddCookie(&http.Cookie{Name: cookieName, Value: c.cookies[cookieName]})
		wg.Go(func() {
			a.sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				users[i], errs[i] = a.rm.Restore(w, r)
			})).ServeHTTP(httptest.NewRecorder(), req)
		})
	}
	wg.Wait()
	for i := range 2 {
		if users[i] != "u1" || errs[i] != nil {
			t.Errorf("request %d: %q, %v; want u1", i, users[i], errs[i])
		}
	}
}

func TestOnRestoreRefuses(t *testing.T) {
	a := newApp(t)
	c := loggedInWithRememberMe(t, a)
	disabled := errors.New("account disabled")
	var err error
	a.rm, err = remember.New(remember.Config{
		Sessions: a.sessions, Store: a.store, Now: a.clock.Now,
		OnRestore: func(ctx context.Context, s *sessionkit.Session, userID string) error {
			if userID != "u1" || s.UserID() != "u1" {
				t.Errorf("OnRestore(%q) with session user %q", userID, s.UserID())
			}
			return disabled
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "https://example.test/", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: c.cookies[cookieName]})
	rr := httptest.NewRecorder()
	var user string
	a.sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err = a.rm.Restore(w, r)
		if uid := a.sessions.Session(r.Context()).UserID(); uid != "" {
			t.Errorf("session user after a refusal: %q", uid)
		}
	})).ServeHTTP(rr, req)
	if user != "" || !errors.Is(err, remember.ErrRefused) || !errors.Is(err, disabled) {
		t.Errorf("Restore = %q, %v; want ErrRefused and the hook's error", user, err)
	}
	if sel, _, _ := strings.Cut(c.cookies[cookieName], "."); sel != "" {
		if _, err := a.store.Get(context.Background(), sel); !errors.Is(err, remember.ErrNotFound) {
			t.Errorf("refused token still stored: %v", err)
		}
	}
	for _, ck := range rr.Result().Cookies() {
		if ck.Name == sessionkit.DefaultCookieName && ck.MaxAge >= 0 {
			t.Errorf("a session cookie was set after a refusal: %v", ck)
		}
	}
}
