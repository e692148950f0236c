package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/sessionkit/sessionkit/internal/testserver"
)

// artifactsDir returns the folder for screenshots: $SESSIONKIT_ARTIFACTS,
// or artifacts/authserver at the repository root (not committed).
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SESSIONKIT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "artifacts")
	}
	dir = filepath.Join(dir, "authserver")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser drives one Chromium browser context.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// open navigates to path and returns the final path after redirects.
func (b *browser) open(path string) string {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
	return b.path()
}

func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(loc, b.base)
}

// submit clicks the button and waits for the page the form leads to.
func (b *browser) submit(button string) string {
	b.t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(button))); err != nil {
		b.t.Fatalf("submit %s: %v", button, err)
	}
	return b.path()
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) fill(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS(sel), value))
}

func (b *browser) login(user, pass string, remember bool) string {
	b.t.Helper()
	if p := b.open("/login"); p != "/login" {
		b.t.Fatalf("GET /login landed on %s", p)
	}
	b.fill(`input[name=username]`, user)
	b.fill(`input[name=password]`, pass)
	if remember {
		b.do(chromedp.Click(chromedp.CSS(`input[name=remember]`)))
	}
	return b.submit(`form[action="/login"] button[type=submit]`)
}

// sessionCookie returns the browser's session cookie for the app.
func (b *browser) sessionCookie() *network.Cookie {
	b.t.Helper()
	return b.cookie("__Host-sid")
}

// cookie returns the browser's cookie name for the app, or nil.
func (b *browser) cookie(name string) *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	i := slices.IndexFunc(res.Cookies, func(c *network.Cookie) bool { return c.Name == name })
	if i < 0 {
		return nil
	}
	return res.Cookies[i]
}

// TestBrowser drives the app in headless Chromium over http://localhost,
// in the zero-setup default mode (plain HTTP, Secure __Host- cookie):
// register, sign out, sign in with remember-me, check that the session
// cookie and the remember-me token are HttpOnly, sign in from a second browser context, revoke it from
// the first one's device page, sign out. Screenshots of every page go to
// the artifacts folder.
func TestBrowser(t *testing.T) {
	bin := testserver.LookPath(t, nil, "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
	srv, _ := startApp(t, "memory:", "memory:", false, false)
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	dir := artifactsDir(t)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1100, 900),
	)
	defer cancelAlloc()
	ctx1, cancel1 := chromedp.NewContext(allocCtx)
	defer cancel1()
	laptop := &browser{t: t, ctx: ctx1, base: base, dir: dir}

	// Anonymous visitors land on the sign-in page.
	if p := laptop.open("/"); p != "/login" {
		t.Fatalf("anonymous / landed on %s", p)
	}
	laptop.screenshot("01-login")

	// Register: a Secure __Host- cookie over http://localhost must stick.
	if p := laptop.open("/register"); p != "/register" {
		t.Fatalf("GET /register landed on %s", p)
	}
	laptop.fill(`input[name=username]`, "alice")
	laptop.fill(`input[name=password]`, "correct horse battery staple")
	laptop.screenshot("02-register")
	if p := laptop.submit(`form[action="/register"] button[type=submit]`); p != "/" {
		t.Fatalf("registration landed on %s (is the Secure cookie kept on http://localhost?)", p)
	}
	if h := laptop.text("h1"); h != "Hello, alice!" {
		t.Fatalf("home greets %q", h)
	}
	laptop.screenshot("03-home")
	if c := laptop.sessionCookie(); c == nil || !c.Session {
		t.Fatalf("registration cookie should be a browser-session cookie: %+v", c)
	}

	// Sign out, then sign in with remember-me.
	if p := laptop.submit(`nav form[action="/logout"] button`); p != "/login" {
		t.Fatalf("sign out landed on %s", p)
	}
	if c := laptop.sessionCookie(); c != nil {
		t.Errorf("session cookie still in the browser after sign-out: %+v", c)
	}
	laptop.screenshot("04-signed-out")
	if p := laptop.login("alice", "correct horse battery staple", true); p != "/" {
		t.Fatalf("sign-in landed on %s", p)
	}

	// With the memory: store, remember-me is a rotating token beside a
	// browser-session cookie. Both are invisible to scripts and Secure; the
	// token is persistent.
	if dc := laptop.eval(`document.cookie`); strings.Contains(dc, "sid") || strings.Contains(dc, "remember") {
		t.Errorf("document.cookie exposes the session or the token: %q", dc)
	}
	c := laptop.sessionCookie()
	if c == nil {
		t.Fatal("no __Host-sid cookie in the browser")
	}
	if !c.HTTPOnly || !c.Secure || !c.Session || c.Path != "/" {
		t.Errorf("cookie: HttpOnly=%v Secure=%v Session=%v Path=%q", c.HTTPOnly, c.Secure, c.Session, c.Path)
	}
	rc := laptop.cookie("__Host-remember")
	if rc == nil {
		t.Fatal("no __Host-remember cookie in the browser")
	}
	if !rc.HTTPOnly || !rc.Secure || rc.Session || rc.Path != "/" {
		t.Errorf("remember-me cookie: HttpOnly=%v Secure=%v Session=%v Path=%q", rc.HTTPOnly, rc.Secure, rc.Session, rc.Path)
	}
	if exp := time.Unix(int64(rc.Expires), 0); time.Until(exp) < 29*24*time.Hour {
		t.Errorf("remember-me cookie expires %v", exp)
	}

	// A second browser context: a wrong password first, then a sign-in
	// without remember-me.
	ctx2, cancel2 := chromedp.NewContext(ctx1, chromedp.WithNewBrowserContext())
	defer cancel2()
	phone := &browser{t: t, ctx: ctx2, base: base, dir: dir}
	if p := phone.login("alice", "not my password", false); p != "/login" {
		t.Fatalf("failed sign-in landed on %s", p)
	}
	if f := phone.text(".flash-error"); f != "Invalid username or password." {
		t.Errorf("error %q", f)
	}
	phone.screenshot("05-login-error")
	if p := phone.login("alice", "correct horse battery staple", false); p != "/" {
		t.Fatalf("second sign-in landed on %s", p)
	}
	if c := phone.sessionCookie(); c == nil || !c.Session {
		t.Errorf("without remember-me the cookie must be a session cookie: %+v", c)
	}

	// The laptop sees both devices and revokes the phone.
	if p := laptop.open("/sessions"); p != "/sessions" {
		t.Fatalf("/sessions landed on %s", p)
	}
	if n := laptop.eval(`String(document.querySelectorAll("li.device").length)`); n != "2" {
		t.Fatalf("%s devices listed, want 2", n)
	}
	if cur := laptop.eval(`document.querySelector("li.device.current .badge").textContent`); cur != "This device" {
		t.Errorf("current device badge %q", cur)
	}
	laptop.screenshot("06-sessions")
	if p := laptop.submit(`li.device:not(.current) button`); p != "/sessions" {
		t.Fatalf("revoke landed on %s", p)
	}
	if n := laptop.eval(`String(document.querySelectorAll("li.device").length)`); n != "1" {
		t.Errorf("%s devices after revoking, want 1", n)
	}
	laptop.screenshot("07-sessions-revoked")
	if p := phone.open("/"); p != "/login" {
		t.Fatalf("revoked phone still signed in: landed on %s", p)
	}

	// Sign out from the laptop.
	if p := laptop.submit(`nav form[action="/logout"] button`); p != "/login" {
		t.Fatalf("sign out landed on %s", p)
	}
	if p := laptop.open("/"); p != "/login" {
		t.Fatalf("after sign-out / landed on %s", p)
	}
	if c := laptop.sessionCookie(); c != nil {
		// Only the anonymous flash session may remain, and it is no login.
		t.Logf("cookie after sign-out: anonymous session (flash)")
	}
}
