package binding_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/binding"
	"github.com/sessionkit/sessionkit/memstore"
)

// metadata is the tests' Config.Metadata: the client IP comes from
// X-Forwarded-For, as behind a trusted proxy, so one test client can
// appear from several networks.
func metadata(r *http.Request) map[string]string {
	m := sessionkit.DefaultMetadata(r)
	m["ip"] = r.Header.Get("X-Forwarded-For")
	return m
}

type change struct {
	c binding.Change
	a binding.Action
}

// fixture is a real HTTP server: POST /login signs in "alice", GET /me
// answers the user ID, POST /reauth accepts the current request.
type fixture struct {
	url     string
	mu      sync.Mutex
	changes []change
}

func newFixture(t *testing.T, policy binding.Policy) *fixture {
	t.Helper()
	f := &fixture{}
	store := memstore.New(memstore.Options{})
	t.Cleanup(func() { store.Close() })
	m, err := sessionkit.New(sessionkit.Config{Store: store, Metadata: metadata, Logger: slog.New(slog.DiscardHandler),
		Cookie: sessionkit.CookieConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	check := binding.New(m, binding.Options{
		Policy:   policy,
		Metadata: metadata,
		OnChange: func(r *http.Request, c binding.Change, a binding.Action) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.changes = append(f.changes, change{c, a})
		},
		Reauthenticate: http.RedirectHandler("/reauth", http.StatusSeeOther),
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Session(r.Context()).SetUserID("alice"); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, m.Session(r.Context()).UserID())
	})
	// The re-authentication route is mounted outside the check, so a
	// changed client can reach it.
	outer := http.NewServeMux()
	outer.HandleFunc("POST /reauth", func(w http.ResponseWriter, r *http.Request) {
		// A real app checks the password first.
		if err := check.Accept(r); err != nil {
			t.Error(err)
		}
	})
	outer.Handle("/", check.Middleware(mux))
	srv := httptest.NewServer(m.Middleware(outer))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// client is how a browser presents itself.
type client struct{ ip, ua, lang string }

var (
	laptop     = client{"192.0.2.10", "Firefox/140", "en-GB"}
	sameSubnet = client{"192.0.2.77", "Firefox/140", "en-GB"}
	otherNet   = client{"198.51.100.5", "Firefox/140", "en-GB"}
	otherUA    = client{"192.0.2.10", "curl/8", "en-GB"}
	otherLang  = client{"192.0.2.10", "Firefox/140", "de-DE"}
)

// do sends one request as c with the session cookie, and returns the
// response with its body read.
func (f *fixture) do(t *testing.T, method, path string, c client, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", c.ip)
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("Accept-Language", c.lang)
	if cookie != "" {
		req.Header.Set("Cookie", sessionkit.DefaultInsecureCookieName+"="+cookie)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// login signs alice in as c and returns the session cookie's value.
func (f *fixture) login(t *testing.T, c client) string {
	t.Helper()
	resp, _ := f.do(t, "POST", "/login", c, "")
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionkit.DefaultInsecureCookieName {
			return ck.Value
		}
	}
	t.Fatal("login set no session cookie")
	return ""
}

// me returns the user the server sees for c with cookie.
func (f *fixture) me(t *testing.T, c client, cookie string) (int, string) {
	t.Helper()
	resp, body := f.do(t, "GET", "/me", c, cookie)
	return resp.StatusCode, body
}

func (f *fixture) seen() []change {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]change(nil), f.changes...)
}

// strict destroys on a network change, asks for the password on a browser
// change, and deems a language change insignificant.
func strict(r *http.Request, c binding.Change) binding.Action {
	switch {
	case c.IP:
		return binding.Destroy
	case c.UserAgent:
		return binding.Reauthenticate
	}
	return binding.Allow
}

func TestOffWithoutPolicy(t *testing.T) {
	f := newFixture(t, nil)
	cookie := f.login(t, laptop)
	for _, c := range []client{otherNet, otherUA, otherLang} {
		if code, user := f.me(t, c, cookie); code != http.StatusOK || user != "alice" {
			t.Errorf("%+v without a policy: %d %q; want 200 alice", c, code, user)
		}
	}
	if got := f.seen(); len(got) != 0 {
		t.Errorf("changes reported without a policy: %+v", got)
	}
}

// TestAlert is the checklist's default: a User-Agent change mid-session
// raises an event and nothing else.
func TestAlert(t *testing.T) {
	f := newFixture(t, func(*http.Request, binding.Change) binding.Action { return binding.Alert })
	cookie := f.login(t, laptop)
	if code, user := f.me(t, otherUA, cookie); code != http.StatusOK || user != "alice" {
		t.Fatalf("alert: %d %q; want 200 alice", code, user)
	}
	got := f.seen()
	if len(got) != 1 || got[0].a != binding.Alert || !got[0].c.UserAgent || got[0].c.IP || got[0].c.Language ||
		got[0].c.Recorded["ua"] != "Firefox/140" || got[0].c.Current["ua"] != "curl/8" {
		t.Fatalf("changes = %+v; want one UA alert Firefox/140 -> curl/8", got)
	}
	if code, user := f.me(t, laptop, cookie); code != http.StatusOK || user != "alice" {
		t.Errorf("back on the laptop: %d %q", code, user)
	}
}

// TestInsignificantChanges: a new address in the same /24 is no change at
// all, and a language change that the policy allows is served and not
// reported.
func TestInsignificantChanges(t *testing.T) {
	var calls []binding.Change
	f := newFixture(t, func(r *http.Request, c binding.Change) binding.Action {
		calls = append(calls, c)
		return strict(r, c)
	})
	cookie := f.login(t, laptop)
	if code, user := f.me(t, sameSubnet, cookie); code != http.StatusOK || user != "alice" {
		t.Fatalf("same /24: %d %q", code, user)
	}
	if len(calls) != 0 {
		t.Fatalf("same /24: policy called with %+v", calls)
	}
	if code, user := f.me(t, otherLang, cookie); code != http.StatusOK || user != "alice" {
		t.Fatalf("language change: %d %q", code, user)
	}
	if len(calls) != 1 || !calls[0].Language || calls[0].IP || calls[0].UserAgent {
		t.Errorf("policy calls = %+v; want one language change", calls)
	}
	if got := f.seen(); len(got) != 0 {
		t.Errorf("allowed change reported: %+v", got)
	}
}

// TestReauthenticate: a browser change is sent to re-authentication with
// the session kept; once the user re-authenticated from the new browser,
// it is served.
func TestReauthenticate(t *testing.T) {
	f := newFixture(t, strict)
	cookie := f.login(t, laptop)
	resp, _ := f.do(t, "GET", "/me", otherUA, cookie)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/reauth" {
		t.Fatalf("new browser: %d to %q; want 303 to /reauth", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := f.seen(); len(got) != 1 || got[0].a != binding.Reauthenticate {
		t.Errorf("changes = %+v; want one reauthenticate", got)
	}
	if code, user := f.me(t, laptop, cookie); user != "alice" {
		t.Fatalf("the session must survive a reauthenticate: %d %q", code, user)
	}
	if resp, _ := f.do(t, "POST", "/reauth", otherUA, cookie); resp.StatusCode != http.StatusOK {
		t.Fatalf("reauth: %d", resp.StatusCode)
	}
	if code, user := f.me(t, otherUA, cookie); code != http.StatusOK || user != "alice" {
		t.Errorf("new browser after re-authentication: %d %q; want 200 alice", code, user)
	}
	if got := f.seen(); len(got) != 1 {
		t.Errorf("%d changes after re-authentication; want still 1", len(got))
	}
	// The session is now bound to the new browser: the old one is the
	// change.
	if resp, _ := f.do(t, "GET", "/me", laptop, cookie); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old browser after Accept: %d; want 303", resp.StatusCode)
	}
}

// TestDestroy: a request from another network ends the session and is
// served as anonymous, with the cookie expired; the token is dead for the
// original client too.
func TestDestroy(t *testing.T) {
	f := newFixture(t, strict)
	cookie := f.login(t, laptop)
	resp, user := f.do(t, "GET", "/me", otherNet, cookie)
	if resp.StatusCode != http.StatusOK || user != "" {
		t.Fatalf("other network: %d %q; want 200 as anonymous", resp.StatusCode, user)
	}
	expired := false
	for _, ck := range resp.Cookies() {
		expired = expired || (ck.Name == sessionkit.DefaultInsecureCookieName && ck.MaxAge < 0)
	}
	if !expired {
		t.Errorf("Set-Cookie %q; want the session cookie expired", resp.Header.Values("Set-Cookie"))
	}
	if got := f.seen(); len(got) != 1 || got[0].a != binding.Destroy || !got[0].c.IP ||
		got[0].c.Recorded["ip"] != "192.0.2.10" || got[0].c.Current["ip"] != "198.51.100.5" {
		t.Errorf("changes = %+v; want one destroy for 192.0.2.10 -> 198.51.100.5", got)
	}
	if _, user := f.me(t, laptop, cookie); user != "" {
		t.Errorf("destroyed session still serves %q to the original client", user)
	}
}

// TestIPv6Network: within its /64 an IPv6 client keeps its session; from
// another /64 it does not.
func TestIPv6Network(t *testing.T) {
	f := newFixture(t, strict)
	cookie := f.login(t, client{"2001:db8:1:2::10", "Firefox/140", "en-GB"})
	if _, user := f.me(t, client{"2001:db8:1:2:abcd::99", "Firefox/140", "en-GB"}, cookie); user != "alice" {
		t.Errorf("same /64: user %q; want alice", user)
	}
	if _, user := f.me(t, client{"2001:db8:1:3::10", "Firefox/140", "en-GB"}, cookie); user != "" {
		t.Errorf("other /64: user %q; want the session destroyed", user)
	}
}
