package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/guessing"
	"github.com/sessionkit/sessionkit/memstore"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// getWithCookie sends GET / as c from the client address ip (the app
// trusts the loopback proxy in these tests) with a session cookie value.
func getWithCookie(t *testing.T, c *apptest.Client, base, ip, value string) *apptest.Resp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("Cookie", "__Host-sid="+value)
	return c.Do(req)
}

func trustLoopback(o *envOptions) {
	o.opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// TestGuessingDetectionOnByDefault is checklist item 54 through the app: 1,000
// random session cookies from one client get it 429 with Retry-After after
// the default threshold, and a warning in the log, while a user elsewhere
// is served.
func TestGuessingDetectionOnByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, trustLoopback)
	owner := e.client("owner")
	apptest.MustSeeOther(t, owner.Register("grace", apptest.TestPassword), "/")
	attacker := e.client("attacker")
	counts := map[int]int{}
	var retry string
	for range 1000 {
		r := getWithCookie(t, attacker, e.srv.URL, "203.0.113.9", rand.Text()+rand.Text())
		counts[r.StatusCode]++
		if r.StatusCode == http.StatusTooManyRequests && retry == "" {
			retry = r.Header.Get("Retry-After") // the first 429, right after the block began
		}
	}
	if counts[http.StatusSeeOther] != guessing.DefaultThreshold+1 || counts[http.StatusTooManyRequests] != 1000-guessing.DefaultThreshold-1 {
		t.Errorf("statuses %v; want %d redirects to /login, then 429", counts, guessing.DefaultThreshold+1)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 890 || n > 900 {
		t.Errorf("first Retry-After %q; want about 900 (15 minutes)", retry)
	}
	logs := e.logs.String()
	if n := strings.Count(logs, "session token guessing: client blocked"); n != 1 || !strings.Contains(logs, "client=203.0.113.9 forged=101") {
		t.Errorf("%d guessing warnings; want 1 for client=203.0.113.9 forged=101\n%s", n, lastLines(logs, 5))
	}
	owner.LoggedInAs("grace")
}

// TestGuessingDetectionOff: a negative GuessThreshold (-guess-threshold 0)
// blocks nobody.
func TestGuessingDetectionOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, trustLoopback, func(o *envOptions) { o.opts.GuessThreshold = -1 })
	attacker := e.client("attacker")
	for i := range 300 {
		if r := getWithCookie(t, attacker, e.srv.URL, "203.0.113.9", rand.Text()); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("request %d: status %d with detection off", i, r.StatusCode)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// stolen returns a second browser (another User-Agent) holding owner's
// session cookie.
func stolen(e *env, owner *apptest.Client) *apptest.Client {
	thief := e.client("thief")
	thief.SetSessionCookie(owner.SessionCookie())
	return thief
}

// TestBindingOffByDefault: without -binding a session works from another
// browser, and nothing is logged about it.
func TestBindingOffByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := e.client("owner")
	apptest.MustSeeOther(t, owner.Register("heidi", apptest.TestPassword), "/")
	stolen(e, owner).LoggedInAs("heidi")
	if strings.Contains(e.logs.String(), "changed client") {
		t.Error("binding logged a change while off")
	}
}

// TestBindingAlert is checklist item 55's default policy: a User-Agent
// change mid-session logs a warning and nothing else.
func TestBindingAlert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) { o.opts.Binding = BindingAlert })
	owner := e.client("owner")
	apptest.MustSeeOther(t, owner.Register("ivan", apptest.TestPassword), "/")
	stolen(e, owner).LoggedInAs("ivan")
	owner.LoggedInAs("ivan")
	logs := e.logs.String()
	if !strings.Contains(logs, "session used from a changed client") || !strings.Contains(logs, "changed=user_agent action=alert") {
		t.Errorf("no alert for the new browser:\n%s", lastLines(logs, 5))
	}
}

// TestBindingDestroy is the strict policy: a session used from another
// browser or network ends (both browsers are signed out), while a language
// change is only logged.
func TestBindingDestroy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, trustLoopback, func(o *envOptions) { o.opts.Binding = BindingDestroy })
	owner := e.client("owner")
	apptest.MustSeeOther(t, owner.Register("judy", apptest.TestPassword), "/")

	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	req.Header.Set("Accept-Language", "fr-FR")
	if r := owner.Do(req); r.StatusCode != http.StatusOK {
		t.Fatalf("language change: status %d; want 200 (alert only)", r.StatusCode)
	}
	if !strings.Contains(e.logs.String(), "changed=language action=alert") {
		t.Errorf("no alert for the language change:\n%s", lastLines(e.logs.String(), 5))
	}
	owner.LoggedInAs("judy")

	stolen(e, owner).Anonymous()
	if !strings.Contains(e.logs.String(), "changed=user_agent action=destroy") {
		t.Errorf("no log of the destroy:\n%s", lastLines(e.logs.String(), 5))
	}
	owner.Anonymous()

	// Another network (outside the owner's /24) ends it too.
	apptest.MustSeeOther(t, owner.Login("judy", apptest.TestPassword, false), "/")
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.20")
	apptest.MustSeeOther(t, owner.Do(req), "/login")
	owner.Anonymous()
}

// TestStoreTracing: the app's session store is traced with sessionotel, one
// span per store call, without tokens or keys in the attributes.
func TestStoreTracing(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	e := newEnv(t, func(o *envOptions) { o.opts.TracerProvider = tp })
	owner := e.client("owner")
	apptest.MustSeeOther(t, owner.Register("kim", apptest.TestPassword), "/")
	owner.LoggedInAs("kim")
	token := owner.SessionCookie().Value
	names := map[string]bool{}
	for _, s := range exp.GetSpans() {
		names[s.Name] = true
		for _, a := range s.Attributes {
			if a.Key == "sessionkit.store.kind" && a.Value.AsString() != "memstore" {
				t.Errorf("span %s: kind %q; want memstore", s.Name, a.Value.AsString())
			}
			if strings.Contains(a.Value.String(), token) {
				t.Errorf("span %s carries the session token in %s", s.Name, a.Key)
			}
		}
	}
	for _, want := range []string{"sessionkit.store.create", "sessionkit.store.load"} {
		if !names[want] {
			t.Errorf("no %s span; spans: %v", want, names)
		}
	}
}

func TestAnomalyFlags(t *testing.T) {
	var out bytes.Buffer
	c, err := ParseFlags(nil, func(string) string { return "" }, &out)
	if err != nil {
		t.Fatal(err)
	}
	if c.GuessThreshold != guessing.DefaultThreshold || c.guessThreshold() != guessing.DefaultThreshold || c.GuessBlock != guessing.DefaultBlock ||
		c.Binding != BindingOff || c.OtelStdout {
		t.Errorf("defaults: %+v", c)
	}
	c, err = ParseFlags([]string{"-guess-threshold", "0", "-binding", "destroy", "-otel-stdout"}, func(string) string { return "" }, &out)
	if err != nil {
		t.Fatal(err)
	}
	if c.guessThreshold() >= 0 || c.Binding != BindingDestroy || !c.OtelStdout {
		t.Errorf("parsed: %+v", c)
	}
	for _, args := range [][]string{{"-binding", "strict"}, {"-guess-threshold", "-5"}, {"-guess-block", "0s"}} {
		if _, err := ParseFlags(args, func(string) string { return "" }, &out); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: error %v; want one naming %s", args, err, args[0])
		}
	}
	out.Reset()
	if _, err := ParseFlags([]string{"-h"}, func(string) string { return "" }, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, f := range []string{"-guess-threshold", "-guess-block", "-binding", "-otel-stdout"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("-h does not mention %s", f)
		}
	}
}

// TestOtelStdout: -otel-stdout writes the spans of the store calls as
// JSON.
func TestOtelStdout(t *testing.T) {
	var buf bytes.Buffer
	c := &Config{OtelStdout: true}
	tp, stop, err := c.tracing(&buf)
	if err != nil {
		t.Fatal(err)
	}
	a := &App{opts: Options{TracerProvider: tp}}
	s := memstore.New(memstore.Options{})
	defer s.Close()
	if _, err := a.traceStore(s).Load(context.Background(), "no-such-key"); err != nil {
		t.Fatal(err)
	}
	stop()
	if !strings.Contains(buf.String(), `"Name":"sessionkit.store.load"`) || strings.Contains(buf.String(), "no-such-key") {
		t.Errorf("stdout spans:\n%s", buf.String())
	}
	if _, _, err := (&Config{}).tracing(&buf); err != nil {
		t.Error(err)
	}
}
