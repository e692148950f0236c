package app

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"golang.org/x/crypto/bcrypt"
)

func TestAnonymousHomeRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("visitor")
	apptest.MustSeeOther(t, c.Get("/"), "/login")
	if r := c.Get("/sessions"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /sessions anonymous: %d, want 303", r.StatusCode)
	}
	if r := c.Post("/password", apptest.Form("current_password", "x", "new_password", "y")); r.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /password anonymous: %d, want 303", r.StatusCode)
	}
	if r := c.Get("/nope"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404", r.StatusCode)
	}
}

// Session fixation: a token the attacker knows before the victim logs in is
// worthless afterwards.
func TestRenewOnLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	attacker, victim := e.client("attacker"), e.client("victim")
	apptest.MustSeeOther(t, victim.Register("victim", apptest.TestPassword), "/")
	apptest.MustSeeOther(t, victim.Logout(), "/login")

	// The attacker obtains a session (her own) and plants it in the
	// victim's browser.
	apptest.MustSeeOther(t, attacker.Register("mallory", apptest.TestPassword), "/")
	planted := attacker.SessionCookie()
	if planted == nil {
		t.Fatal("attacker has no session")
	}
	victim.SetSessionCookie(planted)

	r := victim.Login("victim", apptest.TestPassword, false)
	apptest.MustSeeOther(t, r, "/")
	if got := victim.SessionCookie(); got == nil || got.Value == planted.Value {
		t.Fatal("login kept the planted session token")
	}
	victim.LoggedInAs("victim")
	attacker.SetSessionCookie(planted)
	attacker.Anonymous()

	// Logging in as another user over an existing session starts afresh.
	before := victim.SessionCookie()
	apptest.MustSeeOther(t, victim.Login("mallory", apptest.TestPassword, false), "/")
	victim.LoggedInAs("mallory")
	attacker.SetSessionCookie(before)
	attacker.Anonymous()
}

func TestRenewOnRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	attacker, victim := e.client("attacker"), e.client("victim")
	apptest.MustSeeOther(t, attacker.Register("mallory", apptest.TestPassword), "/")
	planted := attacker.SessionCookie()
	victim.SetSessionCookie(planted)
	apptest.MustSeeOther(t, victim.Register("victim", apptest.TestPassword), "/")
	if victim.SessionCookie().Value == planted.Value {
		t.Fatal("registration kept the planted session token")
	}
	attacker.SetSessionCookie(planted)
	attacker.Anonymous()
}

func TestLogoutEndsSessionOnServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victim, attacker := e.client("victim"), e.client("attacker")
	apptest.MustSeeOther(t, victim.Register("victim", apptest.TestPassword), "/")
	stolen := victim.SessionCookie()
	attacker.SetSessionCookie(stolen)
	attacker.LoggedInAs("victim")

	r := victim.Logout()
	apptest.MustSeeOther(t, r, "/login")
	// Checklist 13: the response expires the cookie, sets no new one, and
	// tells the browser to drop the site's cookies.
	if sc := r.SessionSetCookies(); len(sc) != 1 || !strings.Contains(sc[0], "Max-Age=0") {
		t.Errorf("logout Set-Cookie %q, want one expiring the session cookie", sc)
	}
	if got := r.Header.Get("Clear-Site-Data"); got != `"cookies"` {
		t.Errorf("logout Clear-Site-Data %q, want %q", got, `"cookies"`)
	}
	victim.Anonymous()
	attacker.Anonymous()
	// Replaying the old cookie again, even with the logout flash session
	// gone, stays anonymous.
	attacker.SetSessionCookie(stolen)
	attacker.Anonymous()
}

func TestGetLogoutChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("victim")
	apptest.MustSeeOther(t, c.Register("victim", apptest.TestPassword), "/")
	before := c.SessionCookie().Value
	r := c.Get("/logout")
	if r.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /logout: %d, want 405", r.StatusCode)
	}
	if len(r.SessionSetCookies()) != 0 {
		t.Errorf("GET /logout set cookies: %q", r.SessionSetCookies())
	}
	c.LoggedInAs("victim")
	if c.SessionCookie().Value != before {
		t.Error("GET /logout changed the session cookie")
	}
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	laptop, phone := e.client("laptop"), e.client("phone")
	apptest.MustSeeOther(t, laptop.Register("carol", apptest.TestPassword), "/")
	apptest.MustSeeOther(t, phone.Login("carol", apptest.TestPassword, true), "/")

	// The wrong current password changes nothing.
	before := laptop.SessionCookie().Value
	apptest.MustSeeOther(t, laptop.Post("/password", apptest.Form("current_password", "wrong password!", "new_password", "another long passphrase")), "/")
	if r := laptop.Get("/"); !strings.Contains(r.Text, "Your current password was not correct.") {
		t.Errorf("no error flash:\n%s", r.Text)
	}
	phone.LoggedInAs("carol")
	if laptop.SessionCookie().Value != before {
		t.Error("a failed change renewed the session")
	}
	// A new password that fails the policy changes nothing.
	apptest.MustSeeOther(t, laptop.Post("/password", apptest.Form("current_password", apptest.TestPassword, "new_password", "password123")), "/")
	if r := laptop.Get("/"); !strings.Contains(r.Text, "most common") {
		t.Errorf("no policy flash:\n%s", r.Text)
	}
	phone.LoggedInAs("carol")

	// A good change: renewed here, ended elsewhere.
	apptest.MustSeeOther(t, laptop.Post("/password", apptest.Form("current_password", apptest.TestPassword, "new_password", "another long passphrase")), "/")
	if laptop.SessionCookie().Value == before {
		t.Error("password change did not renew the session")
	}
	laptop.LoggedInAs("carol")
	phone.Anonymous()
	old := e.client("old")
	old.SetSessionCookie(&http.Cookie{Name: "__Host-sid", Value: before})
	old.Anonymous()
	if r := e.client("x").Login("carol", apptest.TestPassword, false); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", r.StatusCode)
	}
	apptest.MustSeeOther(t, e.client("y").Login("carol", "another long passphrase", false), "/")
}

func TestBcryptHashUpgradedAtLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// A user as the Node app stored it: bcrypt, cost 10.
	legacy, err := bcrypt.GenerateFromPassword([]byte("node app password"), 10)
	if err != nil {
		t.Fatal(err)
	}
	u := &User{Username: "nodeuser", PasswordHash: string(legacy)}
	if err := e.app.users.Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	if r := e.client("a").Login("nodeuser", "node app passworD", false); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password against bcrypt: %d", r.StatusCode)
	}
	got, _ := e.app.users.ByID(ctx, u.ID)
	if got.PasswordHash != string(legacy) {
		t.Fatal("a failed login changed the hash")
	}
	c := e.client("b")
	apptest.MustSeeOther(t, c.Login("nodeuser", "node app password", false), "/")
	c.LoggedInAs("nodeuser")
	got, _ = e.app.users.ByID(ctx, u.ID)
	if !strings.HasPrefix(got.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash not upgraded: %q", got.PasswordHash)
	}
	apptest.MustSeeOther(t, e.client("c").Login("nodeuser", "node app password", false), "/")
	if !strings.Contains(e.logs.String(), "password hash upgraded to argon2id") {
		t.Error("upgrade not logged")
	}
}

func TestPasswordRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) { o.opts.RegistrationsPerIP = 1000 })
	c := e.client("c")
	cases := []struct {
		name, pass string
		ok         bool
	}{
		{"seven", "abcdefg", false},
		{"eight", "zq8#vXp2", true},
		{"sixtyfour", strings.Repeat("ab9-", 16), true},
		{"onetwentyeight", strings.Repeat("x7Kd", 32), true},
		{"toolong", strings.Repeat("x7Kd", 32) + "!", false},
		{"unicode", "pässwörd 🔒 ключ 密码", true},
		{"common", "password123", false},
		{"commoncase", "PASSWORD123", false},
		{"qwertyuiop", "qwertyuiop", false},
		{"sameasname", "sameasname", false},
	}
	for _, tc := range cases {
		r := c.Register(tc.name, tc.pass)
		if tc.ok && r.StatusCode != http.StatusSeeOther || !tc.ok && r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s (%d runes): status %d, want ok=%v\n%s", tc.name, len([]rune(tc.pass)), r.StatusCode, tc.ok, r.Text)
		}
		if tc.ok {
			apptest.MustSeeOther(t, c.Logout(), "/login")
		}
	}
	// Compared exactly as typed: no trimming, case folding or Unicode
	// normalisation.
	for _, wrong := range []string{
		"PÄSSWÖRD 🔒 ключ 密码",
		"pa\u0308sswo\u0308rd 🔒 ключ 密码", // NFD form of the same text
		" pässwörd 🔒 ключ 密码",
		"pässwörd 🔒 ключ 密码 ",
	} {
		if r := c.Login("unicode", wrong, false); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("login with %q: %d, want 401", wrong, r.StatusCode)
		}
	}
	apptest.MustSeeOther(t, c.Login("unicode", "pässwörd 🔒 ключ 密码", false), "/")
}

func TestRegistrationNameTaken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apptest.MustSeeOther(t, e.client("a").Register("dave", apptest.TestPassword), "/")
	for _, name := range []string{"dave", "DAVE", "Dave"} {
		r := e.client("b").Register(name, "some other password")
		if r.StatusCode != http.StatusConflict || !strings.Contains(r.Text, "That username is taken") {
			t.Errorf("register %q again: %d", name, r.StatusCode)
		}
	}
	if r := e.client("c").Register("x", apptest.TestPassword); r.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("short username: %d", r.StatusCode)
	}
}

// Unknown user and wrong password must look the same: status, body, time.
func TestNoUserEnumerationAtLogin(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.opts.LoginFailuresPerIP = 1000
		o.opts.LoginFailuresPerAccountAndIP = 1000
		o.opts.AccountFreeFailures = 1000
	})
	apptest.MustSeeOther(t, e.client("r").Register("erin", apptest.TestPassword), "/")
	c := e.client("prober")
	unknown := c.Login("erik", "some password 1", false) // same length as "erin"
	wrong := c.Login("erin", "some password 1", false)
	if unknown.StatusCode != wrong.StatusCode || unknown.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status: unknown user %d, wrong password %d", unknown.StatusCode, wrong.StatusCode)
	}
	norm := func(body, name string) string { return strings.ReplaceAll(body, `value="`+name+`"`, `value=""`) }
	if norm(unknown.Text, "erik") != norm(wrong.Text, "erin") {
		t.Fatalf("bodies differ:\n%s\n---\n%s", unknown.Text, wrong.Text)
	}
	if len(unknown.SessionSetCookies())+len(wrong.SessionSetCookies()) != 0 {
		t.Error("a failed login set a session cookie")
	}

	// Same headers, apart from the date.
	keys := func(h http.Header) []string {
		var ks []string
		for k, v := range h {
			if k != "Date" {
				ks = append(ks, k+": "+strings.Join(v, ","))
			}
		}
		sort.Strings(ks)
		return ks
	}
	if a, b := keys(unknown.Header), keys(wrong.Header); strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("headers differ:\n%q\n%q", a, b)
	}

	// Timing: interleaved trials; the medians must be within a factor of 3
	// of each other. Both paths pay one argon2id verification (hundreds of
	// milliseconds under -race); without the dummy hash the unknown user
	// would answer in well under a millisecond, a factor of 100 or more.
	// A tighter bound failed on a loaded CI machine (medians 355 ms and
	// 541 ms) with both paths doing the same work.
	var du, dk []time.Duration
	for i := range 9 {
		for _, user := range []string{"nobody-at-all", "erin"} {
			start := time.Now()
			c.Login(user, "wrong password "+strconv.Itoa(i), false)
			if user == "erin" {
				dk = append(dk, time.Since(start))
			} else {
				du = append(du, time.Since(start))
			}
		}
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	mu, mk := median(du), median(dk)
	t.Logf("median: unknown user %v, known user %v", mu, mk)
	if max(mu, mk) > min(mu, mk)*3 {
		t.Errorf("timing differs: unknown user %v, known user %v", mu, mk)
	}
}

func TestLoginRateLimitPerIP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) {
		o.opts.LoginFailuresPerIP = 4
	})
	c := e.client("spray")
	for i := range 4 {
		// Spoofed forwarding headers are ignored: no proxy is trusted.
		c.Post("/login", apptest.Form("username", "user"+strconv.Itoa(i), "password", "Winter2026!!"), "X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
	}
	r := c.Post("/login", apptest.Form("username", "user9", "password", "Winter2026!!"), "X-Forwarded-For", "198.51.100.1")
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("5th failure from one IP: %d Retry-After %q, want 429", r.StatusCode, r.Header.Get("Retry-After"))
	}
}

func TestTrustedProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) {
		o.opts.LoginFailuresPerIP = 2
		o.opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	c := e.client("proxy")
	// Different clients behind the proxy have separate budgets.
	for i := range 5 {
		r := c.Post("/login", apptest.Form("username", "u", "password", "bad password"), "X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
		if r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("client %d: %d, want 401", i, r.StatusCode)
		}
	}
	// One client is limited; a forged left-most entry does not help.
	for range 2 {
		c.Post("/login", apptest.Form("username", "u", "password", "bad password"), "X-Forwarded-For", "198.51.100.7")
	}
	r := c.Post("/login", apptest.Form("username", "u", "password", "bad password"), "X-Forwarded-For", "10.9.9.9, 198.51.100.7")
	if r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("limited client: %d, want 429", r.StatusCode)
	}
	// The device list records the forwarded client address.
	d := e.client("device")
	apptest.MustSeeOther(t, d.Post("/register", apptest.Form("username", "henry", "password", apptest.TestPassword), "X-Forwarded-For", "192.0.2.44"), "/")
	if r := d.Get("/sessions"); !strings.Contains(r.Text, "IP 192.0.2.44") {
		t.Errorf("forwarded IP not recorded:\n%s", r.Text)
	}
	// X-Forwarded-Proto from the trusted proxy turns on HSTS over plain HTTP.
	p := newEnv(t, func(o *envOptions) {
		o.plain = true
		o.opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	req, _ := http.NewRequest("GET", p.srv.URL+"/login", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS for X-Forwarded-Proto: https from a trusted proxy")
	}
}

func TestCrossOriginProtection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victim := e.client("victim")
	apptest.MustSeeOther(t, victim.Register("ivan", apptest.TestPassword), "/")
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example"},
	} {
		for _, path := range []string{"/logout", "/password", "/sessions/revoke-others", "/login", "/register"} {
			r := victim.Post(path, apptest.Form("username", "ivan", "password", apptest.TestPassword, "current_password", apptest.TestPassword, "new_password", "hijacked password"), h...)
			if r.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s: %s: %d, want 403", path, h[0], h[1], r.StatusCode)
			}
		}
	}
	victim.LoggedInAs("ivan")
	// Same-origin browser requests pass.
	r := victim.Post("/logout", nil, "Sec-Fetch-Site", "same-origin", "Origin", e.srv.URL)
	apptest.MustSeeOther(t, r, "/login")
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("c")
	apptest.MustSeeOther(t, c.Register("judy", apptest.TestPassword), "/")
	for _, path := range []string{"/", "/login", "/sessions"} {
		r := c.Get(path)
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		checks := map[string]string{
			"Referrer-Policy":            "no-referrer",
			"X-Content-Type-Options":     "nosniff",
			"X-Frame-Options":            "DENY",
			"Cache-Control":              "no-store",
			"Strict-Transport-Security":  "max-age=63072000; includeSubDomains",
			"Permissions-Policy":         "camera=(), microphone=(), geolocation=(), interest-cohort=()",
			"Cross-Origin-Opener-Policy": "same-origin",
		}
		for k, v := range checks {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, h.Get(k), v)
			}
		}
	}
	if r := c.Get("/static/style.css"); r.StatusCode != http.StatusOK || strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("static: %d %q", r.StatusCode, r.Header.Get("Cache-Control"))
	}
	// No HSTS over plain HTTP.
	p := newEnv(t, func(o *envOptions) { o.plain = true; o.opts.Dev = true })
	if r := p.client("p").Get("/login"); r.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
}

func TestCookieAttributesAndRememberMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("c")
	r := c.Register("kate", apptest.TestPassword)
	sc := r.SessionSetCookies()
	if len(sc) != 1 {
		t.Fatalf("Set-Cookie: %q", sc)
	}
	for _, want := range []string{"__Host-sid=", "; Path=/", "; HttpOnly", "; Secure", "; SameSite=Lax"} {
		if !strings.Contains(sc[0], want) {
			t.Errorf("cookie %q lacks %q", sc[0], want)
		}
	}
	if strings.Contains(sc[0], "Domain=") || strings.Contains(sc[0], "Max-Age") || strings.Contains(sc[0], "Expires") {
		t.Errorf("registration cookie is persistent or has a Domain: %q", sc[0])
	}
	if strings.Contains(sc[0], "kate") {
		t.Error("cookie contains the username")
	}
	apptest.MustSeeOther(t, c.Logout(), "/login")

	// Without the box: a browser-session cookie.
	r = c.Login("kate", apptest.TestPassword, false)
	sc = r.SessionSetCookies()
	if len(sc) != 1 || strings.Contains(sc[0], "Max-Age") || strings.Contains(sc[0], "Expires") {
		t.Errorf("login without remember-me: %q", sc)
	}
	// With the box: Max-Age of the remember-me idle timeout.
	r = e.client("d").Login("kate", apptest.TestPassword, true)
	sc = r.SessionSetCookies()
	if len(sc) != 1 || !strings.Contains(sc[0], "Max-Age=604800") || !strings.Contains(sc[0], "Expires=") {
		t.Errorf("login with remember-me: %q", sc)
	}

	// -dev: plain cookie name, no Secure.
	p := newEnv(t, func(o *envOptions) { o.plain = true; o.opts.Dev = true })
	pc := p.client("p")
	r = pc.Register("kate", apptest.TestPassword)
	sc = r.SessionSetCookies()
	if len(sc) != 1 || !strings.HasPrefix(sc[0], "sid=") || strings.Contains(sc[0], "Secure") || !strings.Contains(sc[0], "HttpOnly") {
		t.Errorf("dev cookie: %q", sc)
	}
	pc.LoggedInAs("kate")
	if !strings.Contains(pc.Get("/").Text, "Development mode") {
		t.Error("no development banner in -dev")
	}
}

func TestRevokeNeedsOwnership(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victim, attacker := e.client("victim"), e.client("attacker")
	apptest.MustSeeOther(t, victim.Register("liam", apptest.TestPassword), "/")
	apptest.MustSeeOther(t, attacker.Register("mallory", apptest.TestPassword), "/")
	ids, _ := victim.Devices()
	// Mallory learns the victim's session key (it is no token) and tries
	// to revoke it from her own account.
	apptest.MustSeeOther(t, attacker.Post("/sessions/revoke", apptest.Form("id", ids[0])), "/sessions")
	victim.LoggedInAs("liam")
	// Revoking the current session from the list signs out.
	apptest.MustSeeOther(t, victim.Post("/sessions/revoke", apptest.Form("id", ids[0])), "/login")
	victim.Anonymous()
}

func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("c")
	pass := "super secret passphrase 42"
	apptest.MustSeeOther(t, c.Register("mike", pass), "/")
	cookie := c.SessionCookie().Value
	c.Login("mike", "the wrong secret passphrase", false)
	// A password typed into the name field.
	c.Login("typed secret passphrase 41", "", false)
	apptest.MustSeeOther(t, c.Login("mike", pass, true), "/")
	cookie2 := c.SessionCookie().Value
	c.Post("/sessions/revoke-others", nil, "Sec-Fetch-Site", "cross-site")
	c.Post("/password", apptest.Form("current_password", pass, "new_password", "new secret passphrase 43"))
	c.Logout()
	logs := e.logs.String()
	for _, secret := range []string{pass, "the wrong secret passphrase", "typed secret passphrase 41", "new secret passphrase 43",
		cookie, cookie2, "argon2id$", string(e.app.opts.Secrets[0]), string(e.app.opts.logKey()), hex.EncodeToString(e.app.opts.logKey())} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
	if !strings.Contains(logs, "login failed") || !strings.Contains(logs, "login succeeded") || !strings.Contains(logs, "cross-origin request rejected") {
		t.Errorf("expected login and cross-origin events in logs:\n%s", logs)
	}
	// A failed login of a known account names the account by its ID; of
	// an unknown name, by the name's keyed identifier.
	if !regexp.MustCompile(`msg="login failed" .*known_user=true user_id=\S`).MatchString(logs) {
		t.Errorf("the failed login of a known user does not name its ID:\n%s", logs)
	}
	if !regexp.MustCompile(`msg="login failed" .*known_user=false name=[0-9a-f]{16}\n`).MatchString(logs) {
		t.Errorf("the failed login of an unknown name does not name its identifier:\n%s", logs)
	}
}

// TestSecurityLogLines: every line of checklist item 53 (session created,
// renewed, destroyed with its reason, expired, token rejected, cross-origin
// rejection, login success and failure, rate limiting, and the app's
// password change and logout) carries a UTC time, the client IP and
// User-Agent, and the user where there is one: the user ID, or for a name
// that is no account its keyed identifier. sessionkit's lines give the
// client of the session's creation.
func TestSecurityLogLines(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()} // the memory store expires by the real clock
	e := newEnv(t, func(o *envOptions) { o.opts.LoginFailuresPerAccountAndIP, o.opts.Now = 1, clock.Now })
	apptest.MustSeeOther(t, e.client("owner").Register("lena", apptest.TestPassword), "/")
	lena := e.userID("lena")
	c := e.client("laptop")
	c.Login("nobody", "not the password", false)
	if r := c.Login("nobody", "not the password either", false); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second failed login: %d, want 429", r.StatusCode)
	}
	c = e.client("phone")
	apptest.MustSeeOther(t, c.Login("lena", apptest.TestPassword, false), "/")
	newPassword := "a new and long passphrase 7"
	apptest.MustSeeOther(t, c.Post("/password", apptest.Form("current_password", apptest.TestPassword, "new_password", newPassword)), "/")
	if r := c.Post("/logout", nil, "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site logout: %d, want 403", r.StatusCode)
	}
	phoneSession := last(t, parseLog(t, e.logs.String()), "sessionkit: session renewed")["session"]
	apptest.MustSeeOther(t, c.Logout(), "/login")
	forged := e.client("tablet")
	forged.SetSessionCookie(&http.Cookie{Name: sessionkit.DefaultCookieName, Value: "forged-value"})
	forged.Anonymous()
	c = e.client("desk")
	apptest.MustSeeOther(t, c.Login("lena", newPassword, false), "/")
	clock.Advance(sessionkit.DefaultIdleTimeout + time.Minute)
	c.Anonymous()

	lines := parseLog(t, e.logs.String())
	nobody := e.app.sm.LogID(accountKey("nobody")).LogValue().String()
	for _, want := range []struct {
		msg, client, key, value string
	}{
		{"sessionkit: session created", "desk", "user", lena},
		{"sessionkit: session renewed", "phone", "user", lena},
		{"sessionkit: session destroyed", "phone", "user", lena},
		{"sessionkit: session expired", "desk", "user", lena},
		{"sessionkit: session token rejected", "tablet", "", ""},
		{"cross-origin request rejected", "phone", "user_id", lena},
		{"login failed", "laptop", "name", nobody},
		{"login rate limited", "laptop", "name", nobody},
		{"login succeeded", "desk", "user_id", lena},
		{"password changed", "phone", "user_id", lena},
		{"logout", "phone", "user_id", lena},
	} {
		line := last(t, lines, want.msg)
		if !strings.HasSuffix(line["time"], "Z") || line["ip"] != "127.0.0.1" ||
			line["user_agent"] != "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0 ("+want.client+")" {
			t.Errorf("%q line lacks a UTC time, the IP or the User-Agent of %s: %v", want.msg, want.client, line)
		}
		if want.key != "" && line[want.key] != want.value {
			t.Errorf("%q line: %s=%q; want %q: %v", want.msg, want.key, line[want.key], want.value, line)
		}
	}
	if line := last(t, lines, "cross-origin request rejected"); line["session"] != phoneSession {
		t.Errorf("cross-origin line names session %q; sessionkit's lines %q", line["session"], phoneSession)
	}
	if line := last(t, lines, "sessionkit: session destroyed"); line["reason"] != "logout" {
		t.Errorf("sessionkit's last destroyed line gives no reason=logout: %v", line)
	}
	if line := last(t, lines, "sessionkit: session expired"); line["reason"] != "idle timeout" {
		t.Errorf("sessionkit's expired line gives no reason=\"idle timeout\": %v", line)
	}
	// The password change ended the owner's session (signed in since
	// registration): a revocation, whose line names the user and the
	// reason; the client that changed the password is on its own line.
	revoked := false
	for _, line := range withMsg(lines, "sessionkit: session destroyed") {
		revoked = revoked || line["reason"] == "password change" && line["user"] == lena && logIDPattern.MatchString(line["session"])
	}
	if !revoked {
		t.Errorf("no sessionkit line of a session ended by the password change:\n%s", e.logs)
	}
}

// TestLogHandlerWritesUTC: the app's log handler writes every time in UTC
// whatever the zone of the time or of the process.
func TestLogHandlerWritesUTC(t *testing.T) {
	at := time.Date(2026, 3, 1, 13, 30, 0, 0, time.FixedZone("UTC+2", 2*3600))
	for _, json := range []bool{false, true} {
		var buf bytes.Buffer
		r := slog.NewRecord(at, slog.LevelInfo, "blocked", 0)
		r.AddAttrs(slog.Time("until", at.Add(time.Hour)))
		if err := NewLogHandler(&buf, json, slog.LevelInfo).Handle(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.Contains(out, "2026-03-01T11:30:00") || !strings.Contains(out, "2026-03-01T12:30:00") ||
			strings.Count(out, "Z\"")+strings.Count(out, "Z ")+strings.Count(out, "Z\n") != 2 || strings.Contains(out, "+02:00") {
			t.Errorf("json=%v: %s; want both times in UTC", json, out)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("c")
	if r := c.Get("/healthz"); r.StatusCode != http.StatusOK || strings.TrimSpace(r.Text) != "ok" {
		t.Fatalf("/healthz: %d %q", r.StatusCode, r.Text)
	}
	apptest.MustSeeOther(t, c.Register("nina", apptest.TestPassword), "/")
	c.Login("nina", "not the password", false)
	apptest.MustSeeOther(t, c.Login("nina", apptest.TestPassword, false), "/")
	c.Logout()
	if r := c.Get("/metrics"); r.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the public handler: %d, want 404", r.StatusCode)
	}
	ms := httptest.NewServer(e.app.MetricsHandler())
	defer ms.Close()
	r := apptest.NewClient(t, ms, "prometheus").Get("/metrics")
	for _, want := range []string{
		"authserver_sessions_created_total 1",
		"authserver_sessions_renewed_total 1",
		`authserver_sessions_destroyed_total{reason="logout"} 1`,
		`authserver_logins_total{result="succeeded"} 1`,
		`authserver_logins_total{result="failed"} 1`,
		`authserver_registrations_total{result="succeeded"} 1`,
		`authserver_session_store_duration_seconds_count{op="create",outcome="ok"}`,
		"go_goroutines",
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestPlainHTTP checks that without -dev a plain-HTTP request to a public
// host name gets no page and no cookie (GET and HEAD are redirected to
// https://, other methods refused), that /healthz still answers it, and
// that a trusted proxy's X-Forwarded-Proto: https, a loopback host name
// and -dev are served.
func TestPlainHTTP(t *testing.T) {
	t.Parallel()
	// request sends method path to e's plain-HTTP server as addressed to
	// host, with the header pairs kv.
	request := func(e *env, method, path, host string, form url.Values, kv ...string) *apptest.Resp {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, e.srv.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		req.Host = host
		return e.client("plain").Do(req)
	}
	signUp := apptest.Form("username", "olga", "password", apptest.TestPassword)

	prod := newEnv(t, func(o *envOptions) { o.plain = true })
	for _, c := range []struct{ method, path, host, location string }{
		{"GET", "/login?next=%2Fsessions", "app.example", "https://app.example/login?next=%2Fsessions"},
		{"HEAD", "/", "app.example:3000", "https://app.example/"},
		{"GET", "/static/style.css", "app.example", "https://app.example/static/style.css"},
		{"GET", "/sessions", "[2001:db8::1]:8080", "https://[2001:db8::1]/sessions"},
	} {
		// A spoofed X-Forwarded-Proto from an untrusted peer changes nothing.
		r := request(prod, c.method, c.path, c.host, nil, "X-Forwarded-Proto", "https")
		if r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != c.location {
			t.Errorf("%s %s on %s over plain HTTP: %d Location %q; want 301 to %s", c.method, c.path, c.host, r.StatusCode, r.Header.Get("Location"), c.location)
		}
		if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("%s %s over plain HTTP set cookies %q", c.method, c.path, sc)
		}
	}
	for _, path := range []string{"/register", "/login"} {
		r := request(prod, "POST", path, "app.example", signUp)
		if r.StatusCode != http.StatusForbidden || len(r.Header.Values("Set-Cookie")) > 0 {
			t.Errorf("POST %s over plain HTTP: %d, cookies %q; want 403 without a cookie", path, r.StatusCode, r.Header.Values("Set-Cookie"))
		}
	}
	if r := request(prod, "GET", "/healthz", "app.example", nil); r.StatusCode != http.StatusOK || strings.TrimSpace(r.Text) != "ok" {
		t.Errorf("/healthz over plain HTTP: %d %q; want 200 ok", r.StatusCode, r.Text)
	}
	// The zero-setup mode: http://localhost keeps the Secure cookie.
	for _, host := range []string{"localhost:3000", "127.0.0.1:3000", "[::1]:3000", "app.localhost"} {
		if r := request(prod, "GET", "/login", host, nil); r.StatusCode != http.StatusOK {
			t.Errorf("GET /login on %s: %d; want the page", host, r.StatusCode)
		}
	}

	// Behind a trusted proxy that says the client used HTTPS: served.
	proxied := newEnv(t, func(o *envOptions) {
		o.plain = true
		o.opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	if r := request(proxied, "GET", "/login", "app.example", nil); r.StatusCode != http.StatusMovedPermanently {
		t.Errorf("trusted proxy without X-Forwarded-Proto: %d; want 301", r.StatusCode)
	}
	r := request(proxied, "POST", "/register", "app.example", signUp, "X-Forwarded-Proto", "https")
	if r.StatusCode != http.StatusSeeOther || len(r.SessionSetCookies()) == 0 {
		t.Errorf("registration through a trusted HTTPS proxy: %d, cookies %q; want 303 with the session cookie", r.StatusCode, r.Header.Values("Set-Cookie"))
	}

	// -dev serves plain HTTP on any host name.
	dev := newEnv(t, func(o *envOptions) { o.plain = true; o.opts.Dev = true })
	r = request(dev, "POST", "/register", "app.example", signUp)
	if r.StatusCode != http.StatusSeeOther || len(r.SessionSetCookies()) == 0 {
		t.Errorf("registration over plain HTTP with -dev: %d, cookies %q; want 303 with the session cookie", r.StatusCode, r.Header.Values("Set-Cookie"))
	}
}

// TestDeviceListHoldsNoSecrets checks that the /sessions page lists every
// device of the user but holds none of their cookie values, in any of
// their forms (as sent, decoded, the bare token, its signature), and not
// the password.
func TestDeviceListHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	laptop, phone, tablet := e.client("laptop"), e.client("phone"), e.client("tablet")
	apptest.MustSeeOther(t, laptop.Register("petra", apptest.TestPassword), "/")
	apptest.MustSeeOther(t, phone.Login("petra", apptest.TestPassword, false), "/")
	apptest.MustSeeOther(t, tablet.Login("petra", apptest.TestPassword, true), "/")
	var secrets []string
	for _, c := range []*apptest.Client{laptop, phone, tablet} {
		ck := c.SessionCookie()
		if ck == nil {
			t.Fatal("a signed-in client has no session cookie")
		}
		value, err := url.QueryUnescape(ck.Value)
		if err != nil {
			t.Fatal(err)
		}
		token, sig, ok := strings.Cut(strings.TrimPrefix(value, "s:"), ".")
		if !ok || len(token) < 43 {
			t.Fatalf("session cookie %q is not a signed token", value)
		}
		secrets = append(secrets, ck.Value, value, token, sig)
	}
	for _, c := range []*apptest.Client{laptop, phone, tablet} {
		if ids, _ := c.Devices(); len(ids) != 3 {
			t.Fatalf("/sessions lists %d devices; want 3", len(ids))
		}
		page := c.Get("/sessions").Text
		for _, s := range append(secrets, apptest.TestPassword) {
			if strings.Contains(page, s) {
				t.Fatalf("/sessions holds the secret %q", s)
			}
		}
	}
}
