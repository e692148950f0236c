package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestHashAndVerify(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("pässwörd 🔒")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if ok, rehash, err := VerifyPassword(h, "pässwörd 🔒"); !ok || rehash || err != nil {
		t.Errorf("verify: %v %v %v", ok, rehash, err)
	}
	if ok, _, _ := VerifyPassword(h, "pässwörd 🔒 "); ok {
		t.Error("trailing space accepted")
	}
	h2, _ := HashPassword("pässwörd 🔒")
	if h == h2 {
		t.Error("no salt")
	}
	// Weaker argon2id parameters verify but ask for a rehash.
	weak := "$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$Gd7iyC5dRQlkZyOAhPo4zQ2z8mujIMk9hoUsuYtp0Ws"
	if ok, _, err := VerifyPassword(weak, "nope"); ok || err != nil {
		t.Errorf("weak hash wrong password: %v %v", ok, err)
	}
	b, _ := bcrypt.GenerateFromPassword([]byte("legacy password"), bcrypt.MinCost)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		hb := prefix + string(b[4:])
		if ok, rehash, err := VerifyPassword(hb, "legacy password"); !ok || !rehash || err != nil {
			t.Errorf("bcrypt %s: %v %v %v", prefix, ok, rehash, err)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2id$v=19$m=x$", "$argon2id$v=18$m=1,t=1,p=1$AA$AA"} {
		if ok, _, err := VerifyPassword(bad, "x"); ok || err == nil {
			t.Errorf("hash %q: ok=%v err=%v", bad, ok, err)
		}
	}
}

func TestPasswordProblem(t *testing.T) {
	t.Parallel()
	set, err := commonPasswords()
	if err != nil {
		t.Fatal(err)
	}
	// Checklist 45: at least 10,000 entries.
	if n := len(set); n < 10000 {
		t.Errorf("only %d common passwords, want at least 10,000", n)
	}
	for pass, ok := range map[string]bool{
		"short":                            false,
		"12345678":                         false,
		"Password1":                        false,
		"iloveyou":                         false,
		"kitten-on-a-keyboard":             true,
		strings.Repeat("é", 8):             true,
		strings.Repeat("é", 7):             false,
		strings.Repeat("a😀", 64):           true,
		strings.Repeat("a😀", 64) + "b":     false,
		"bob-the-user":                     false, // same as the username
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8": false,
	} {
		if got := PasswordProblem("Bob-The-User", pass) == ""; got != ok {
			t.Errorf("%q: ok=%v, want %v", pass, got, ok)
		}
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := NewLimiter(2, time.Minute, func() time.Time { return now })
	reserve := func(want bool) time.Duration {
		t.Helper()
		ok, wait := l.Reserve("k")
		if ok != want {
			t.Fatalf("Reserve at %v: %v, want %v", now.Unix(), ok, want)
		}
		return wait
	}
	reserve(true)
	reserve(true)
	if wait := reserve(false); wait != time.Minute {
		t.Fatalf("wait %v, want 1m", wait)
	}
	now = now.Add(30 * time.Second)
	if wait := reserve(false); wait != 30*time.Second {
		t.Errorf("wait %v", wait)
	}
	l.Release("k") // a refunded attempt frees its slot
	reserve(true)
	now = now.Add(31 * time.Second)
	reserve(true) // a new window
	l.Reset("k")
	reserve(true)
	reserve(true)
	l.Reserve("other")
	now = now.Add(2 * time.Minute)
	reserve(true)
	if len(l.entries) != 1 {
		t.Errorf("sweep kept %d entries", len(l.entries))
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := NewThrottle(2, 5*time.Second, time.Minute, func() time.Time { return now })
	for range 2 {
		if ok, _ := l.Reserve("k"); !ok {
			t.Fatal("a free attempt was refused")
		}
	}
	// Then 1 s, 2 s, 4 s, and the 5 s cap between attempts.
	for _, d := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second} {
		if ok, wait := l.Reserve("k"); ok || wait != d {
			t.Fatalf("attempt right after the last: %v, wait %v; want refused, wait %v", ok, wait, d)
		}
		now = now.Add(d)
		if ok, _ := l.Reserve("k"); !ok {
			t.Fatalf("attempt after %v refused", d)
		}
	}
	// Never a hard lock: idle for a window, the key starts afresh.
	now = now.Add(time.Minute)
	if ok, _ := l.Reserve("k"); !ok {
		t.Fatal("refused after a quiet window")
	}
	if ok, _ := l.Reserve("k"); !ok {
		t.Fatal("second free attempt after a quiet window refused")
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ip     string
		prefix int
		want   string
	}{
		{"192.0.2.7", 64, "192.0.2.7"},
		{"::ffff:192.0.2.7", 64, "192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::/48"},
		{"2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6/128"},
		{"fe80::1%eth0", 64, "fe80::/64"},
		{"not an address", 64, "not an address"},
	} {
		if got := clientKey(tc.ip, tc.prefix); got != tc.want {
			t.Errorf("clientKey(%q, %d) = %q, want %q", tc.ip, tc.prefix, got, tc.want)
		}
	}
}
func TestDescribeUA(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36":            "Chrome on Linux",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0":                             "Firefox on Windows",
		"": "Unknown device",
	} {
		if got := describeUA(ua); got != want {
			t.Errorf("%q: %q, want %q", ua, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	if _, err := OpenSessions(t.Context(), "ftp://x", SessionOptions{DataDir: t.TempDir()}); err == nil {
		t.Error("unknown scheme accepted")
	}
	if _, err := OpenSessions(t.Context(), "cookie:", SessionOptions{DataDir: t.TempDir()}); err == nil {
		t.Error("cookie store without key accepted")
	}
	if _, err := OpenUsers(t.Context(), "redis://x", t.TempDir()); err == nil {
		t.Error("redis user store accepted")
	}
}

// writeTestCert writes a self-signed certificate for 127.0.0.1.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
