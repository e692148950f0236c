package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/memstore"
)

// logLine is one line of the app's text log, attribute by attribute.
type logLine map[string]string

// parseLog splits the text log into its lines' attributes.
func parseLog(t *testing.T, logs string) []logLine {
	t.Helper()
	var out []logLine
	for line := range strings.Lines(logs) {
		attrs := logLine{}
		rest := strings.TrimSuffix(line, "\n")
		for rest != "" {
			key, value, ok := strings.Cut(rest, "=")
			if !ok {
				t.Fatalf("log line %q: no key=value at %q", line, rest)
			}
			if strings.HasPrefix(value, `"`) {
				q, err := strconv.QuotedPrefix(value)
				if err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				attrs[key], _ = strconv.Unquote(q)
				value = value[len(q):]
			} else {
				v, _, _ := strings.Cut(value, " ")
				attrs[key], value = v, value[len(v):]
			}
			rest = strings.TrimPrefix(value, " ")
		}
		out = append(out, attrs)
	}
	return out
}

// withMsg returns the lines whose message is msg.
func withMsg(lines []logLine, msg string) []logLine {
	var out []logLine
	for _, l := range lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// last returns the last line with message msg, failing the test without one.
func last(t *testing.T, lines []logLine, msg string) logLine {
	t.Helper()
	found := withMsg(lines, msg)
	if len(found) == 0 {
		t.Fatalf("no %q line in the log", msg)
	}
	return found[len(found)-1]
}

var logIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// userID returns the ID of the account name.
func (e *env) userID(name string) string {
	e.t.Helper()
	u, err := e.app.users.ByUsername(context.Background(), name)
	if err != nil || u == nil {
		e.t.Fatalf("user %s: %v %v", name, u, err)
	}
	return u.ID
}

// TestCrossOriginRejectionLogged: a cross-origin request carrying a live
// session is refused with 403 before any handler runs, and the line names
// the user and the session (by the identifier of sessionkit's own lines),
// with the client's IP and User-Agent and a UTC time; the refusal writes
// nothing to the session store, not even the idle deadline's slide that
// any accepted request of that age makes, and sets no cookie.
func TestCrossOriginRejectionLogged(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, func(o *envOptions) { o.opts.Now, o.opts.Store = clock.Now, st })
	c := e.client("victim")
	apptest.MustSeeOther(t, c.Register("ivan", apptest.TestPassword), "/")
	_, id := c.Devices()
	before, err := st.Load(t.Context(), id)
	if err != nil || before == nil {
		t.Fatalf("Load = %v, %v", before, err)
	}
	clock.Advance(2 * sessionkit.DefaultTouchInterval)

	r := c.Post("/logout", nil, "Sec-Fetch-Site", "cross-site")
	if r.StatusCode != http.StatusForbidden || len(r.SessionSetCookies()) != 0 {
		t.Fatalf("cross-site logout: %d, cookies %q; want 403 and none", r.StatusCode, r.SessionSetCookies())
	}
	after, err := st.Load(t.Context(), id)
	if err != nil || after == nil {
		t.Fatalf("after the rejected request: Load = %v, %v", after, err)
	}
	if !after.LastSeen.Equal(before.LastSeen) || !after.ExpiresAt.Equal(before.ExpiresAt) {
		t.Errorf("the rejected request wrote the session: last seen %v, expires %v; before %v, %v",
			after.LastSeen, after.ExpiresAt, before.LastSeen, before.ExpiresAt)
	}
	lines := parseLog(t, e.logs.String())
	line := last(t, lines, "cross-origin request rejected")
	created := last(t, lines, "sessionkit: session created")
	if line["user_id"] != e.userID("ivan") || line["session"] != created["session"] || !logIDPattern.MatchString(line["session"]) ||
		line["ip"] != "127.0.0.1" || !strings.HasSuffix(line["user_agent"], "(victim)") || !strings.HasSuffix(line["time"], "Z") {
		t.Errorf("cross-origin line %v; want user_id %s, session %s (as sessionkit's lines), IP, User-Agent and UTC time",
			line, e.userID("ivan"), created["session"])
	}

	// A request without a live session is refused and logged all the same.
	anon := e.client("anonymous")
	anon.SetSessionCookie(&http.Cookie{Name: c.SessionCookie().Name, Value: "not-a-session"})
	if r := anon.Post("/login", apptest.Form("username", "ivan", "password", apptest.TestPassword), "Origin", "https://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin login: %d, want 403", r.StatusCode)
	}
	line = last(t, parseLog(t, e.logs.String()), "cross-origin request rejected")
	if _, ok := line["user_id"]; ok || !strings.HasSuffix(line["user_agent"], "(anonymous)") {
		t.Errorf("cross-origin line of an anonymous request: %v", line)
	}
	c.LoggedInAs("ivan")
}

// TestFailedLoginNames: a failed login of an unknown name is logged with
// a keyed identifier of the name (sessionkit.Manager.LogID of its lookup
// key), the same for each attempt on that name (in any case) and on its
// rate-limited line, another for another name, and never the typed text;
// a known account's failure names the account by its user ID.
func TestFailedLoginNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *envOptions) { o.opts.LoginFailuresPerAccountAndIP = 2 })
	apptest.MustSeeOther(t, e.client("owner").Register("lena", apptest.TestPassword), "/")
	c := e.client("laptop")
	typed := "Tr0ub4dor&3 typed into the name field"
	for _, name := range []string{typed, strings.ToUpper(typed), typed, "someone else", "lena"} {
		c.Login(name, "not the password", false)
	}
	logs := e.logs.String()
	for _, s := range []string{typed, strings.ToUpper(typed), "someone else", "not the password"} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds the typed text %q", s)
		}
	}
	lines := parseLog(t, logs)
	failed := withMsg(lines, "login failed")
	limited := withMsg(lines, "login rate limited")
	if len(failed) != 4 || len(limited) != 1 {
		t.Fatalf("%d failed and %d rate-limited lines; want 4 and 1:\n%s", len(failed), len(limited), logs)
	}
	want := e.app.sm.LogID(accountKey(typed)).LogValue().String()
	for _, l := range append(failed[:2:2], limited[0]) {
		if l["name"] != want || l["known_user"] == "true" || l["user_id"] != "" || l["ip"] != "127.0.0.1" || !strings.HasSuffix(l["user_agent"], "(laptop)") {
			t.Errorf("line of the unknown name %v; want name=%s, IP and User-Agent, no user", l, want)
		}
	}
	if other := failed[2]["name"]; !logIDPattern.MatchString(other) || other == want {
		t.Errorf("another name is logged as %q (the first: %q)", other, want)
	}
	if known := failed[3]; known["known_user"] != "true" || known["user_id"] != e.userID("lena") {
		t.Errorf("failed login of a known account: %v; want its user ID", known)
	}
}

// TestLogKeyLinksInstances: two instances sharing the session secret (and
// store) name a session alike in their lines, through the log key derived
// from the secret; a different -log-key names it otherwise; neither key nor
// secret ever reaches the log.
func TestLogKeyLinksInstances(t *testing.T) {
	t.Parallel()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	secret := []byte("shared-secret-0123456789abcdefghijklmnopqrstuvwxyz")
	logKey := []byte("an explicit log key, 32 characters or more")
	shared := func(key []byte) func(*envOptions) {
		return func(o *envOptions) { o.opts.Store, o.opts.Secrets, o.opts.LogKey = st, [][]byte{secret}, key }
	}
	one, two, other := newEnv(t, shared(nil)), newEnv(t, shared(nil)), newEnv(t, shared(logKey))
	c := one.client("phone")
	apptest.MustSeeOther(t, c.Register("olga", apptest.TestPassword), "/")
	created := last(t, parseLog(t, one.logs.String()), "sessionkit: session created")["session"]
	_, id := c.Devices()
	for _, e := range []*env{two, other} {
		if r := c.OnServer(e.srv).Post("/logout", nil, "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-site logout: %d", r.StatusCode)
		}
	}
	if got := last(t, parseLog(t, two.logs.String()), "cross-origin request rejected")["session"]; got != created || !logIDPattern.MatchString(got) {
		t.Errorf("the other instance names the session %q; the first %q", got, created)
	}
	got := last(t, parseLog(t, other.logs.String()), "cross-origin request rejected")["session"]
	mac := hmac.New(sha256.New, logKey)
	mac.Write([]byte(id))
	if want := hex.EncodeToString(mac.Sum(nil)[:8]); got != want || got == created {
		t.Errorf("with Options.LogKey the session is %q; want HMAC-SHA256(LogKey, store key) %q, unlike %q", got, want, created)
	}
	derived := (&Options{Secrets: [][]byte{secret}}).logKey()
	for _, e := range []*env{one, two, other} {
		for _, s := range [][]byte{secret, logKey, derived} {
			if logs := e.logs.String(); strings.Contains(logs, string(s)) || strings.Contains(logs, hex.EncodeToString(s)) {
				t.Errorf("the log holds a key or secret")
			}
		}
	}
	if bytes.Equal(derived, secret) || len(derived) != 32 {
		t.Errorf("derived log key %x", derived)
	}
}

// TestLoadLogKey: -log-key names a file whose trimmed content is the key;
// a short or missing one is refused with the flag's name, and the server
// started with it names sessions by HMAC-SHA256 under that key.
func TestLoadLogKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(dir, "log-key")
	key := "a log key of at least 32 characters, shared"
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadLogKey(path, log); err != nil || string(got) != key {
		t.Fatalf("LoadLogKey = %q, %v", got, err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{short, filepath.Join(dir, "missing")} {
		if _, err := LoadLogKey(p, log); err == nil || !strings.Contains(err.Error(), "-log-key") {
			t.Errorf("LoadLogKey(%s) = %v; want an error naming -log-key", p, err)
		}
	}

	c, err := ParseFlags([]string{"-data", dir, "-sessions", "memory:", "-users", "memory:", "-log-key", path}, func(string) string { return "" }, io.Discard)
	if err != nil || c.LogKeyFile != path {
		t.Fatalf("ParseFlags: %+v %v", c, err)
	}
	a, _, closeStores, err := open(t.Context(), c, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStores()
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte("store key"))
	if got, want := a.sm.LogID("store key").LogValue().String(), hex.EncodeToString(mac.Sum(nil)[:8]); got != want {
		t.Errorf("with -log-key, LogID = %s; want %s", got, want)
	}
	c.LogKeyFile = short
	if _, _, _, err := open(t.Context(), c, log); err == nil {
		t.Error("a short -log-key file was accepted")
	}
}
