// Package apptest drives the authserver over HTTP like a browser, for the
// app's end-to-end tests: each Client has its own cookie jar ("victim",
// "attacker", "second device").
package apptest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestPassword is a password that passes the app's policy.
const TestPassword = "correct horse battery staple"

// Client is one browser with its own cookie jar ("victim", "attacker",
// "second device"). It does not follow redirects.
type Client struct {
	t    *testing.T
	base string
	hc   *http.Client
	ua   string
}

// NewClient returns a browser for srv; name goes into its user agent.
func NewClient(t *testing.T, srv *httptest.Server, name string) *Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := srv.Client()
	hc = &http.Client{
		Transport: hc.Transport,
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 30 * time.Second,
	}
	return &Client{t: t, base: srv.URL, hc: hc, ua: "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0 (" + name + ")"}
}

// OnServer returns a client for another server that shares c's cookies,
// with the server's own URL (for two app instances).
func (c *Client) OnServer(srv *httptest.Server) *Client {
	c2 := NewClient(c.t, srv, "other")
	u, _ := url.Parse(c.base)
	u2, _ := url.Parse(srv.URL)
	c2.hc.Jar.SetCookies(u2, c.hc.Jar.Cookies(u))
	c2.ua = c.ua
	return c2
}

// Resp is a response with its body read.
type Resp struct {
	*http.Response
	Text string
}

// Do sends req with c's user agent and cookies.
func (c *Client) Do(req *http.Request) *Resp {
	c.t.Helper()
	req.Header.Set("User-Agent", c.ua)
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &Resp{Response: res, Text: string(b)}
}

// Get requests path.
func (c *Client) Get(path string) *Resp {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.Do(req)
}

// Post sends form to path, with extra header name/value pairs.
func (c *Client) Post(path string, form url.Values, headers ...string) *Resp {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.Do(req)
}

// SessionCookie returns the session cookie in c's jar, or nil.
func (c *Client) SessionCookie() *http.Cookie {
	u, _ := url.Parse(c.base)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "__Host-sid" || ck.Name == "sid" {
			return ck
		}
	}
	return nil
}

// SetSessionCookie plants a session cookie in c's jar (a copied cookie).
func (c *Client) SetSessionCookie(ck *http.Cookie) {
	u, _ := url.Parse(c.base)
	cp := *ck
	cp.Secure = strings.HasPrefix(c.base, "https:")
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: cp.Name, Value: cp.Value, Path: "/", Secure: cp.Secure}})
}

// DropSessionCookie empties c's jar of the session cookie.
func (c *Client) DropSessionCookie() {
	if ck := c.SessionCookie(); ck != nil {
		u, _ := url.Parse(c.base)
		c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: "", Path: "/", MaxAge: -1}})
	}
}

// Form builds form values from name/value pairs.
func Form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// Register posts the registration form.
func (c *Client) Register(user, pass string) *Resp {
	c.t.Helper()
	return c.Post("/register", Form("username", user, "password", pass))
}

// Login posts the sign-in form.
func (c *Client) Login(user, pass string, remember bool) *Resp {
	c.t.Helper()
	f := Form("username", user, "password", pass)
	if remember {
		f.Set("remember", "1")
	}
	return c.Post("/login", f)
}

// Logout posts to /logout.
func (c *Client) Logout() *Resp {
	c.t.Helper()
	return c.Post("/logout", nil)
}

// MustSeeOther checks a 303 to location.
func MustSeeOther(t *testing.T, r *Resp, location string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != location {
		t.Fatalf("%s %s: got %d Location %q, want 303 to %q\n%s", r.Request.Method, r.Request.URL.Path,
			r.StatusCode, r.Header.Get("Location"), location, r.Text)
	}
}

// LoggedInAs checks that c's session is logged in as user.
func (c *Client) LoggedInAs(user string) {
	c.t.Helper()
	r := c.Get("/")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Text, "Hello, "+user+"!") {
		c.t.Fatalf("GET / as %s: status %d, want 200 greeting %q\n%s", user, r.StatusCode, user, r.Text)
	}
}

// Anonymous checks that c is not logged in.
func (c *Client) Anonymous() {
	c.t.Helper()
	MustSeeOther(c.t, c.Get("/"), "/login")
}

// SessionSetCookies returns the response's Set-Cookie header lines for the
// session cookie.
func (r *Resp) SessionSetCookies() []string {
	var out []string
	for _, v := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "__Host-sid=") || strings.HasPrefix(v, "sid=") {
			out = append(out, v)
		}
	}
	return out
}

// Devices returns the store keys listed on c's /sessions page and the one
// marked current.
func (c *Client) Devices() (ids []string, current string) {
	c.t.Helper()
	r := c.Get("/sessions")
	if r.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /sessions: %d\n%s", r.StatusCode, r.Text)
	}
	re := regexp.MustCompile(`(?s)<li class="device( current)?">.*?name="id" value="([^"]+)"`)
	for _, m := range re.FindAllStringSubmatch(r.Text, -1) {
		ids = append(ids, m[2])
		if m[1] != "" {
			current = m[2]
		}
	}
	return ids, current
}

// RunCoreFlows runs every user-visible flow against one app instance, whose
// browsers newClient returns: registration, login with and without
// remember-me, a second device, a copied cookie, the device list and
// revocation (when listable), "sign out everywhere else", password change
// and logout. The store matrix calls it for each session and user store.
func RunCoreFlows(t *testing.T, newClient func(name string) *Client, listable bool) {
	victim, second, attacker := newClient("victim"), newClient("second device"), newClient("attacker")

	// Anonymous: / redirects, /login renders without creating a session.
	victim.Anonymous()
	r := victim.Get("/login")
	if r.StatusCode != http.StatusOK || len(r.SessionSetCookies()) != 0 {
		t.Fatalf("GET /login: %d, Set-Cookie %q", r.StatusCode, r.SessionSetCookies())
	}

	// Register → 303 to / and logged in, greeted by name.
	MustSeeOther(t, victim.Register("alice", TestPassword), "/")
	victim.LoggedInAs("alice")

	// Log in from a second device with remember-me.
	MustSeeOther(t, second.Login("alice", TestPassword, true), "/")
	second.LoggedInAs("alice")

	// A copied cookie works until the victim logs out.
	attacker.SetSessionCookie(second.SessionCookie())
	attacker.LoggedInAs("alice")

	if listable {
		ids, current := victim.Devices()
		if len(ids) != 2 || current == "" || ids[0] != current {
			t.Fatalf("devices: %q, current %q; want 2 with the current first", ids, current)
		}
		page := victim.Get("/sessions").Text
		want := []string{"This device", "TestBrowser", "IP 127.0.0.1"}
		// Remember-me is either a persistent session, badged in the list,
		// or a rotating token beside a browser-session cookie (package
		// remember), which the list does not show.
		if second.Cookie("__Host-remember") == nil && second.Cookie("remember") == nil {
			want = append(want, "Remembered")
		}
		for _, want := range want {
			if !strings.Contains(page, want) {
				t.Errorf("/sessions lacks %q", want)
			}
		}
		// Revoke the second device from the first.
		other := ids[1]
		MustSeeOther(t, victim.Post("/sessions/revoke", Form("id", other)), "/sessions")
		second.Anonymous()
		attacker.Anonymous()
		victim.LoggedInAs("alice")
		if ids, _ := victim.Devices(); len(ids) != 1 {
			t.Fatalf("after revoke: %d devices, want 1", len(ids))
		}
	} else {
		// Without a listing, "sign out everywhere else" still works.
		MustSeeOther(t, victim.Post("/sessions/revoke-others", nil), "/sessions")
		second.Anonymous()
		attacker.Anonymous()
		victim.LoggedInAs("alice")
	}

	// Sign out everywhere else.
	MustSeeOther(t, second.Login("alice", TestPassword, false), "/")
	before := victim.SessionCookie().Value
	MustSeeOther(t, victim.Post("/sessions/revoke-others", nil), "/sessions")
	second.Anonymous()
	victim.LoggedInAs("alice")
	if victim.SessionCookie().Value == before && !listable {
		t.Error("revoke-others kept the same cookie")
	}

	// Password change: renews this session, ends the others.
	MustSeeOther(t, second.Login("alice", TestPassword, false), "/")
	old := victim.SessionCookie()
	MustSeeOther(t, victim.Post("/password", Form("current_password", TestPassword, "new_password", "a brand new passphrase")), "/")
	victim.LoggedInAs("alice")
	if victim.SessionCookie().Value == old.Value {
		t.Error("password change did not renew the session cookie")
	}
	second.Anonymous()
	attacker.SetSessionCookie(old)
	attacker.Anonymous()
	if r := newClient("x").Login("alice", TestPassword, false); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password after change: %d, want 401", r.StatusCode)
	}

	// Logout ends the session on the server: the copied cookie is dead.
	copied := victim.SessionCookie()
	r = victim.Logout()
	MustSeeOther(t, r, "/login")
	if got := r.Header.Get("Clear-Site-Data"); got != `"cookies"` {
		t.Errorf("logout: Clear-Site-Data %q, want %q", got, `"cookies"`)
	}
	victim.Anonymous()
	attacker.SetSessionCookie(copied)
	attacker.Anonymous()
	if r := victim.Get("/login"); len(r.SessionSetCookies()) != 0 {
		t.Errorf("the sign-in page after logout set a session cookie: %q", r.SessionSetCookies())
	}

	// Log in again with the new password.
	MustSeeOther(t, victim.Login("ALICE", "a brand new passphrase", false), "/")
	victim.LoggedInAs("alice")
}

// PostLater sends form to path in the background, with extra header
// name/value pairs. The channel yields the response, or nil after an error,
// which it reports with t.Error.
func (c *Client) PostLater(path string, form url.Values, headers ...string) <-chan *Resp {
	done := make(chan *Resp, 1)
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", c.ua)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	go func() {
		res, err := c.hc.Do(req)
		if err != nil {
			c.t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
			done <- nil
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			c.t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
			done <- nil
			return
		}
		done <- &Resp{Response: res, Text: string(b)}
	}()
	return done
}

// Pause holds a code path of the server under test: a test arms it, and the
// next request that reaches Point waits there until the test releases it.
// The zero Pause is ready to use and holds nothing.
type Pause struct {
	mu      sync.Mutex
	reached chan struct{}
	release chan struct{}
}

// Arm makes the next Point wait. reached is closed when a request waits
// there; release lets it go on.
func (p *Pause) Arm() (reached <-chan struct{}, release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reached, p.release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	rel := p.release
	return p.reached, func() { once.Do(func() { close(rel) }) }
}

// Point waits, if the pause is armed, until the test releases it. Only one
// request waits per Arm.
func (p *Pause) Point() {
	p.mu.Lock()
	reached, release := p.reached, p.release
	p.reached, p.release = nil, nil
	p.mu.Unlock()
	if reached == nil {
		return
	}
	close(reached)
	<-release
}

// RunStaleLogin checks that a login which read the account before a
// password change completed fails, and leaves no session, even though the
// password it carries matched the hash it read. pause must hold the app
// right after its user store looked up a user by name.
func RunStaleLogin(t *testing.T, newClient func(name string) *Client, pause *Pause) {
	owner, stale := newClient("owner"), newClient("stale")
	MustSeeOther(t, owner.Register("stella", TestPassword), "/")

	reached, release := pause.Arm()
	defer release()
	login := stale.PostLater("/login", Form("username", "stella", "password", TestPassword))
	select {
	case <-reached:
	case <-time.After(20 * time.Second):
		t.Fatal("the login never looked the user up")
	}
	// While that login holds the old hash, the owner changes the password.
	MustSeeOther(t, owner.Post("/password", Form("current_password", TestPassword, "new_password", "a fresh passphrase 2")), "/")
	release()
	r := <-login
	if r == nil {
		return
	}
	if r.StatusCode != http.StatusUnauthorized || len(r.SessionSetCookies()) != 0 {
		t.Fatalf("login that started before the password change: %d, Set-Cookie %q; want 401 and no session", r.StatusCode, r.SessionSetCookies())
	}
	stale.Anonymous()
	owner.LoggedInAs("stella")
	MustSeeOther(t, newClient("new").Login("stella", "a fresh passphrase 2", false), "/")
}
