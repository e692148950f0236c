package app

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{EnvSessions: "memory:", EnvSessionSecret: "from-env-0123456789abcdefghijklmnop"}
	getenv := func(k string) string { return env[k] }
	c, err := ParseFlags([]string{"-addr", "127.0.0.1:0", "-trusted-proxies", "10.0.0.0/8, 192.0.2.1"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sessions != "memory:" || c.SessionSecret != env[EnvSessionSecret] || len(c.TrustedProxies) != 2 ||
		c.TrustedProxies[1].String() != "192.0.2.1/32" || c.Addr != "127.0.0.1:0" || c.DataDir != "data" {
		t.Errorf("config: %+v", c)
	}
	c, err = ParseFlags([]string{"-sessions", "redis://x", "-session-secret", "flag-secret-0123456789abcdefghijklmnop"}, getenv, io.Discard)
	if err != nil || c.Sessions != "redis://x" || c.SessionSecret != "flag-secret-0123456789abcdefghijklmnop" {
		t.Errorf("flags must win over the environment: %+v %v", c, err)
	}
	for _, bad := range [][]string{
		{"-tls-cert", "c.pem"},
		{"-dev", "-tls-cert", "c.pem", "-tls-key", "k.pem"},
		{"-trusted-proxies", "not-an-ip"},
		{"-ipv6-prefix", "0"},
		{"-ipv6-prefix", "129"},
		{"-disable-user", "a", "-enable-user", "b"},
		{"extra"},
	} {
		if _, err := ParseFlags(bad, getenv, io.Discard); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	var help bytes.Buffer
	if _, err := ParseFlags([]string{"-h"}, getenv, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	if strings.Contains(help.String(), "from-env") {
		t.Error("-h prints a secret from the environment")
	}
	for _, want := range []string{"-sessions", "redis+sentinel://", "redis+cluster://", "mongodb://", "postgres://", "cookie:",
		"-users", "-dev", "-tls-cert", "-tls-key", "-session-secret", "-cookie-key", "AUTHSERVER_SESSION_SECRET", "-trusted-proxies", "-addr", "-metrics-addr", "-ipv6-prefix", "-disable-user"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("-h does not mention %q", want)
		}
	}
}

func TestLoadSecrets(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s1, err := LoadSecrets("", dir, "session-secret", log)
	if err != nil || len(s1) != 1 || len(s1[0]) < 32 {
		t.Fatalf("generate: %q %v", s1, err)
	}
	st, err := os.Stat(filepath.Join(dir, "session-secret"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode: %v %v", st.Mode(), err)
	}
	s2, err := LoadSecrets("", dir, "session-secret", log)
	if err != nil || !bytes.Equal(s1[0], s2[0]) {
		t.Fatal("secret not reused")
	}
	s3, err := LoadSecrets("new-secret-0123456789abcdefghijklmnop, "+string(s1[0]), dir, "session-secret", log)
	if err != nil || len(s3) != 2 {
		t.Fatalf("rotation list: %v", err)
	}
	if _, err := LoadSecrets("short", dir, "x", log); err == nil {
		t.Error("short secret accepted")
	}
}

// TestRunZeroSetup runs the server as `go run ./cmd/authserver` does, in an
// empty directory: SQLite files and secrets appear under ./data, accounts
// and sessions survive a restart, and SIGTERM-style cancellation shuts it
// down cleanly.
func TestRunZeroSetup(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	start := func() (string, context.CancelFunc, chan error) {
		c, err := ParseFlags([]string{"-addr", "127.0.0.1:0", "-data", dir}, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		addrc, errc := make(chan net.Addr, 1), make(chan error, 1)
		go func() { errc <- Run(ctx, c, log, func(a, _ net.Addr) { addrc <- a }) }()
		select {
		case a := <-addrc:
			return "http://" + a.String(), cancel, errc
		case err := <-errc:
			t.Fatalf("Run: %v\n%s", err, logs.String())
		}
		return "", cancel, errc
	}
	base, stop, errc := start()
	for _, f := range []string{"users.db", "sessions.db", "session-secret"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("data/%s: %v", f, err)
		}
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.PostForm(base+"/register", url.Values{"username": {"pat"}, "password": {apptest.TestPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	sc := res.Header.Get("Set-Cookie")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(sc, "__Host-sid=") || !strings.Contains(sc, "Secure") {
		t.Fatalf("register: %d %q", res.StatusCode, sc)
	}
	cookie := strings.SplitN(sc, ";", 2)[0]
	if res, err := http.Get(base + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v", err)
	} else {
		res.Body.Close()
	}
	// Metrics are off by default, and never on the public port.
	if res, err := http.Get(base + "/metrics"); err != nil {
		t.Fatal(err)
	} else if res.Body.Close(); res.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the public port: %d, want 404", res.StatusCode)
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	// After a restart the account and the session are still there.
	base, stop, errc = start()
	defer func() { stop(); <-errc }()
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("Cookie", cookie)
	res, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Hello, pat!") {
		t.Fatalf("after restart: %d\n%s", res.StatusCode, body)
	}
	for _, want := range []string{"authserver listening", "Secure cookies", "shutting down"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q", want)
		}
	}
}

func TestRunTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeTestCert(t, dir)
	c, err := ParseFlags([]string{"-addr", "127.0.0.1:0", "-data", dir, "-sessions", "memory:", "-users", "memory:",
		"-tls-cert", cert, "-tls-key", key, "-metrics-addr", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc, errc := make(chan [2]net.Addr, 1), make(chan error, 1)
	go func() {
		errc <- Run(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)), func(a, m net.Addr) { addrc <- [2]net.Addr{a, m} })
	}()
	var addr, metricsAddr net.Addr
	select {
	case addrs := <-addrc:
		addr, metricsAddr = addrs[0], addrs[1]
	case err := <-errc:
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := hc.Get("https://" + addr.String() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	// With -metrics-addr, /metrics is not on the main listener.
	res, err = hc.Get("https://" + addr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the main listener: %d, want 404", res.StatusCode)
	}
	// The metrics listener serves them.
	if metricsAddr == nil {
		t.Fatal("no metrics listener")
	}
	res, err = http.Get("http://" + metricsAddr.String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "authserver_logins_total") {
		t.Errorf("metrics listener: %d\n%.300s", res.StatusCode, body)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no shutdown")
	}
}
