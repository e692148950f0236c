package sessionkit

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/sessionkit/sessionkit/cookiesig"
)

// nopStore is a Store for configuration tests that never reach it.
type nopStore struct{ Store }

func TestNewRejectsContradictions(t *testing.T) {
	long := bytes.Repeat([]byte("k"), 32)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no store", Config{}, "exactly one"},
		{"two stores", Config{Store: nopStore{}, ClientStore: struct{ ClientStore }{}}, "exactly one"},
		{"host prefix with domain", Config{Store: nopStore{}, Cookie: CookieConfig{Domain: "example.com"}}, "cannot have a Domain"},
		{"host prefix with path", Config{Store: nopStore{}, Cookie: CookieConfig{Path: "/app"}}, "Path=/"},
		{"host prefix insecure", Config{Store: nopStore{}, Cookie: CookieConfig{Name: "__Host-x", Insecure: true}}, "must be Secure"},
		{"secure prefix insecure", Config{Store: nopStore{}, Cookie: CookieConfig{Name: "__Secure-x", Insecure: true}}, "must be Secure"},
		{"samesite none insecure", Config{Store: nopStore{}, Cookie: CookieConfig{Name: "sid", SameSite: http.SameSiteNoneMode, Insecure: true}}, "SameSite=None"},
		{"bad name", Config{Store: nopStore{}, Cookie: CookieConfig{Name: "a b"}}, "invalid cookie"},
		{"negative idle", Config{Store: nopStore{}, IdleTimeout: -time.Second}, "negative"},
		{"grace too long", Config{Store: nopStore{}, RenewGrace: time.Hour}, "RenewGrace"},
		{"grace not shorter than idle", Config{Store: nopStore{}, RenewGrace: 30 * time.Second, IdleTimeout: 30 * time.Second}, "shorter than IdleTimeout"},
		{"short secret", Config{Store: nopStore{}, Secrets: [][]byte{long, []byte("short")}}, "Secrets[1]"},
		{"short log key", Config{Store: nopStore{}, LogKey: long[:31]}, "Config.LogKey is 31 bytes; it must be at least 32"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v; want an error containing %q", err, c.want)
			}
		})
	}
	m, err := New(Config{Store: nopStore{}, Cookie: CookieConfig{Insecure: true}})
	if err != nil || m.cfg.Cookie.Name != DefaultInsecureCookieName {
		t.Fatalf("insecure dev config: %v, name %q", err, m.cfg.Cookie.Name)
	}
}

func TestTokens(t *testing.T) {
	m, _ := New(Config{Store: nopStore{}})
	seen := map[string]bool{}
	for range 10000 {
		tok, err := m.cfg.Tokens.New()
		if err != nil {
			t.Fatal(err)
		}
		if !validToken(tok) || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
	}
	m.cfg.Tokens = defaultTokens{rand: iotest.ErrReader(errors.New("entropy exhausted"))}
	if tok, err := m.cfg.Tokens.New(); err == nil || tok != "" {
		t.Fatal("a failing entropy source gave a token")
	}
}

func TestSignedTokens(t *testing.T) {
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old := defaultTokens{signer: newTestSigner(t, k1)}
	rotated := defaultTokens{signer: newTestSigner(t, k2, k1)}
	m, _ := New(Config{Store: nopStore{}})
	tok, _ := m.cfg.Tokens.New()
	v := old.Encode(tok)
	if got, _ := rotated.Decode(v); got != tok {
		t.Fatal("a cookie signed with an old secret no longer verifies after rotation")
	}
	if got := rotated.Encode(tok); got == v || decoded(old, got) != "" {
		t.Fatal("the first secret does not sign")
	}
	if !strings.HasPrefix(v, "s%3A") {
		t.Fatalf("signed value %q is not in Express's escaped format", v)
	}
	for _, bad := range []string{tok, v[:len(v)-1] + "A", "s%3Ax." + v[strings.IndexByte(v, '.')+1:], v + ".", strings.Replace(v, ".", "", 1), "s:" + tok, "%zz"} {
		if decoded(old, bad) != "" {
			t.Errorf("decode(%q) accepted a bad value", bad)
		}
	}
}

func TestValidTokenRejectsNonCanonical(t *testing.T) {
	const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	m, _ := New(Config{Store: nopStore{}})
	tok, _ := m.cfg.Tokens.New()
	// The last base64 character carries 4 bits; flipping the unused low bits
	// gives another spelling of the same bytes, which must be refused.
	last := strings.IndexByte(b64url, tok[len(tok)-1])
	alt := tok[:len(tok)-1] + string(b64url[last^1])
	if validToken(alt) && alt != tok {
		t.Fatalf("non-canonical spelling %q of %q accepted", alt, tok)
	}
}

func newTestSigner(t testing.TB, secrets ...[]byte) *cookiesig.Signer {
	t.Helper()
	s, err := cookiesig.New(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// decoded returns the token in value, or "" when Decode refuses it.
func decoded(t Tokens, value string) string {
	tok, ok := t.Decode(value)
	if !ok && tok != "" {
		panic("Decode returned a token with ok == false")
	}
	return tok
}

func TestSecretsWithCustomTokens(t *testing.T) {
	long := bytes.Repeat([]byte("k"), 32)
	if _, err := New(Config{Store: nopStore{}, Tokens: defaultTokens{}, Secrets: [][]byte{long}}); err == nil {
		t.Fatal("Secrets with a custom Tokens accepted; they would be ignored")
	}
}
