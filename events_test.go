package sessionkit_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

// logLine returns the "session" and "previous" of the last log record
// with message msg.
func logLine(t *testing.T, logs *syncBuffer, msg string) (session, previous string) {
	t.Helper()
	found := false
	for _, rec := range logs.records(t) {
		if rec["msg"] == msg {
			session, _ = rec["session"].(string)
			previous, _ = rec["previous"].(string)
			found = true
		}
	}
	if !found {
		t.Fatalf("no %q line in the log:\n%s", msg, logs)
	}
	return session, previous
}

// hexPrefix returns the first 16 hex digits of sum.
func hexPrefix(sum []byte) string { return hex.EncodeToString(sum[:8]) }

func keyedID(key []byte, s string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(s))
	return hexPrefix(mac.Sum(nil))
}

// TestLogIDKeyed checks that log lines name a session by HMAC-SHA256 under
// Config.LogKey over its store key: without the key, the identifier is no
// hash anyone holding the store (or the cookie) can compute; managers
// sharing a LogKey name a session alike, on every line and in a renewal's
// previous; another key or a random one gives other identifiers; and no
// token or store key reaches the log.
func TestLogIDKeyed(t *testing.T) {
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	newLogged := func(key []byte) (*sessionkit.Manager, *syncBuffer) {
		logger, logs := logCapture()
		return newManager(t, sessionkit.Config{Store: st, LogKey: key, Logger: logger}), logs
	}
	var secrets []string
	keep := func(cookie, id string) (string, string) {
		secrets = append(secrets, cookie, id)
		return cookie, id
	}

	// Without LogKey: a random key per manager.
	a, aLogs := newLogged(nil)
	cookie, id := keep(login(t, a, "alice"))
	created, _ := logLine(t, aLogs, "sessionkit: session created")
	unkeyed := map[string]string{}
	for name, input := range map[string]string{
		"store key": id, "token (the cookie value without Secrets)": cookie,
		"old scheme (fixed prefix and store key)": "sessionkit log id\x00" + id,
	} {
		sum := sha256.Sum256([]byte(input))
		unkeyed["SHA-256 of the "+name] = hex.EncodeToString(sum[:])
		unkeyed["HMAC-SHA256 without a key of the "+name] = keyedID(nil, input)
	}
	unkeyed["the store key itself"] = id
	for name, h := range unkeyed {
		if strings.Contains(h, created) {
			t.Errorf("session identifier %q is part of the %s, %s", created, name, h)
		}
	}
	b, bLogs := newLogged(nil)
	serve(b, cookie, func(w http.ResponseWriter, r *http.Request) { _ = b.Session(r.Context()).Destroy() })
	if destroyed, _ := logLine(t, bLogs, "sessionkit: session destroyed"); destroyed == created || len(destroyed) != 16 {
		t.Errorf("two managers with random log keys both name a session %q", created)
	}

	// One LogKey on two managers: one identifier, HMAC-SHA256(LogKey, store key).
	key := bytes.Repeat([]byte("log key 0123456789 "), 2)
	c, cLogs := newLogged(key)
	d, dLogs := newLogged(key)
	cookie, id = keep(login(t, c, "bob"))
	created, _ = logLine(t, cLogs, "sessionkit: session created")
	if want := keyedID(key, id); created != want {
		t.Errorf("created line names the session %q; want HMAC-SHA256(LogKey, store key) %q", created, want)
	}
	var renewedID string
	res := serve(d, cookie, func(w http.ResponseWriter, r *http.Request) {
		s := d.Session(r.Context())
		if err := s.Renew(true); err != nil {
			t.Error(err)
		}
		renewedID = s.ID()
	})
	keep(sessionCookie(res).Value, renewedID)
	renewed, previous := logLine(t, dLogs, "sessionkit: session renewed")
	if previous != created || renewed != keyedID(key, renewedID) {
		t.Errorf("renewal on the other manager: session %q previous %q; want %q previous %q",
			renewed, previous, keyedID(key, renewedID), created)
	}
	var v slog.Value = c.LogID(renewedID).LogValue()
	if v.String() != renewed {
		t.Errorf("LogID(store key) = %q; the log says %q", v, renewed)
	}
	if got := c.LogID("").LogValue().String(); got != "" {
		t.Errorf("LogID(\"\") = %q; want \"\"", got)
	}

	// Another key, another identifier.
	e, _ := newLogged(bytes.Repeat([]byte("another key "), 3))
	if got := e.LogID(renewedID).LogValue().String(); got == renewed {
		t.Errorf("two log keys give one identifier %q", got)
	}

	for _, logs := range []*syncBuffer{aLogs, bLogs, cLogs, dLogs} {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(logs.String(), secret) {
				t.Fatalf("the log holds a token or store key %q:\n%s", secret, logs)
			}
		}
	}
}

// TestLookup checks that Manager.Lookup finds the live session of a
// request without writing anything: no touch however old the last write,
// no event, no log line, and an expired or forged cookie is not found
// and stays where it is.
func TestLookup(t *testing.T) {
	var events eventLog
	logger, logs := logCapture()
	clock := sessiontest.NewClock()
	st := memstore.New(memstore.Options{})
	t.Cleanup(func() { st.Close() })
	m := newManager(t, sessionkit.Config{Store: st, Now: clock.Now, OnEvent: events.on, Logger: logger})
	cookie, id := login(t, m, "carol")
	before, err := st.Load(t.Context(), id)
	if err != nil || before == nil {
		t.Fatalf("Load = %v, %v", before, err)
	}
	clock.Advance(2 * sessionkit.DefaultTouchInterval)
	events.take()
	logged := logs.String()

	lookup := func(values ...string) (sessionkit.SessionInfo, bool) {
		t.Helper()
		req, _ := http.NewRequest("POST", "https://example.test/", nil)
		for _, v := range values {
			req.AddCookie(&http.Cookie{Name: sessionkit.DefaultCookieName, Value: v})
		}
		info, found, err := m.Lookup(req)
		if err != nil {
			t.Fatal(err)
		}
		return info, found
	}
	if info, found := lookup("forged-value-0123456789", cookie); !found || info.ID != id || info.UserID != "carol" {
		t.Errorf("Lookup = %+v, %v; want session %s of carol", info, found, id)
	}
	if _, found := lookup(); found {
		t.Error("Lookup found a session without a cookie")
	}
	clock.Advance(sessionkit.DefaultIdleTimeout)
	if _, found := lookup(cookie); found {
		t.Error("Lookup found an expired session")
	}
	after, err := st.Load(t.Context(), id)
	if err != nil || after == nil || !after.LastSeen.Equal(before.LastSeen) || !after.ExpiresAt.Equal(before.ExpiresAt) {
		t.Errorf("after Lookup the stored session is %+v (error %v); want it untouched: %+v", after, err, before)
	}
	if got := events.take(); len(got) != 0 {
		t.Errorf("Lookup reported events %+v", got)
	}
	if logs.String() != logged {
		t.Errorf("Lookup logged %s", strings.TrimPrefix(logs.String(), logged))
	}

	// A client store: the session is in the cookie.
	cs, err := cookiestore.New(cookiestore.Options{Keys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	if err != nil {
		t.Fatal(err)
	}
	m = newManager(t, sessionkit.Config{ClientStore: cs, OnEvent: events.on, Logger: logger})
	cookie, id = login(t, m, "dave")
	events.take()
	req, _ := http.NewRequest("POST", "https://example.test/", nil)
	req.AddCookie(&http.Cookie{Name: sessionkit.DefaultCookieName, Value: cookie})
	if info, found, err := m.Lookup(req); err != nil || !found || info.ID != id || info.UserID != "dave" {
		t.Errorf("Lookup on a client store = %+v, %v, %v; want session %s of dave", info, found, err, id)
	}
	if got := events.take(); len(got) != 0 {
		t.Errorf("Lookup reported events %+v", got)
	}
}

// A failed login names the typed name, which may be a password typed into
// the wrong field, by its log identifier only: repeated attempts link up.
func ExampleManager_LogID() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store, LogKey: []byte("an example log key of 32 bytes or more")})
	if err != nil {
		log.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a fixed output for the example
			}
			return a
		},
	}))
	for _, name := range []string{"my secret password", "my secret password"} {
		logger.Info("login failed", "name", sessions.LogID(name))
	}
	// Output:
	// level=INFO msg="login failed" name=c56f65e94dc54fad
	// level=INFO msg="login failed" name=c56f65e94dc54fad
}

// A cross-origin request is refused before the session middleware runs:
// its deny handler finds the user with Lookup, which writes nothing, and
// logs the session by its log identifier.
func ExampleManager_Lookup() {
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		s.Renew(false)
		s.SetUserID("42")
	})
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, _, err := sessions.Lookup(r)
		if err != nil {
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
			return
		}
		slog.Warn("cross-origin request rejected", "user", info.UserID, "session", sessions.LogID(info.ID))
		fmt.Println("rejected a cross-origin request of user", info.UserID)
		http.Error(w, "cross-origin request rejected", http.StatusForbidden)
	}))
	handler := csrf.Handler(sessions.Middleware(mux))

	post := func(header ...string) *http.Response {
		r := httptest.NewRequest("POST", "https://example.test/login", nil)
		for i := 0; i < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Result()
	}
	cookie := post().Cookies()[0]
	fmt.Println(post("Cookie", cookie.String(), "Sec-Fetch-Site", "cross-site").Status)
	// Output:
	// rejected a cross-origin request of user 42
	// 403 Forbidden
}
