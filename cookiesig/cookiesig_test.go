package cookiesig

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Golden values captured from Express 5 with express-session 1.19.0 and
// cookie-parser; see express-session-formats.md §1 (capture1, capture4) and
// §6. The formats document names "mysecret" for capture1 only; the other
// secrets were recovered by signing with candidate secrets.
var signerGolden = []struct {
	secret, name, value, header string
	cookie                      http.Cookie
}{
	{
		secret: "mysecret",
		name:   "connect.sid",
		value:  "C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495",
		header: "connect.sid=s%3AC31EoJ4Kt9HnGaetjCHM2zDy-LFtr495.Cq6VQLIc%2FEGKmNMmCjkJKY%2BFrKsZVYR1c2aO0qc%2FEWg; Path=/; HttpOnly",
		cookie: http.Cookie{Name: "connect.sid", Path: "/", HttpOnly: true},
	},
	{
		secret: "newsecret",
		name:   "connect.sid",
		value:  "_iCuar4gyb76x6_v16e2v18-NpPRCuGY",
		header: "connect.sid=s%3A_iCuar4gyb76x6_v16e2v18-NpPRCuGY.UEIk0GVosio9SXpuYDoGoisrM%2F%2Fjiq5fj8f%2Byj%2F9ITI; Path=/; HttpOnly",
		cookie: http.Cookie{Name: "connect.sid", Path: "/", HttpOnly: true},
	},
	{
		secret: "mysecret",
		name:   "signed",
		value:  "hello",
		header: "signed=s%3Ahello.8JOZ8MRG2EsxoIDlfsSDOS1B5vUS8%2BetpQJ6u801jCo; Path=/",
		cookie: http.Cookie{Name: "signed", Path: "/"},
	},
}

func mustSigner(t testing.TB, secrets ...string) *Signer {
	t.Helper()
	b := make([][]byte, len(secrets))
	for i, s := range secrets {
		b[i] = []byte(s)
	}
	s, err := New(b...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignerGolden(t *testing.T) {
	for _, g := range signerGolden {
		s := mustSigner(t, g.secret)
		c := g.cookie
		c.Value = s.Encode(g.value)
		if got := c.String(); got != g.header {
			t.Errorf("Encode(%q)\n got %s\nwant %s", g.value, got, g.header)
		}

		escaped := strings.TrimPrefix(strings.SplitN(g.header, ";", 2)[0], g.name+"=")
		signed, err := url.PathUnescape(escaped)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Sign(g.value); got != signed {
			t.Errorf("Sign(%q) = %q, want %q", g.value, got, signed)
		}
		if v, ok := s.Verify(signed); !ok || v != g.value {
			t.Errorf("Verify(%q) = %q, %v", signed, v, ok)
		}

		// Express's cookie as the browser sends it back, escaped or not.
		for _, raw := range []string{escaped, signed} {
			if v, ok := s.Decode(raw); !ok || v != g.value {
				t.Errorf("Decode(%s) = %q, %v; want %q", raw, v, ok, g.value)
			}
		}
	}
}

func TestSignerRotation(t *testing.T) {
	old := mustSigner(t, "mysecret")
	rotated := mustSigner(t, "a new secret of at least 32 bytes!", "mysecret")
	retired := mustSigner(t, "a new secret of at least 32 bytes!")

	signed := old.Sign("sid")
	if v, ok := rotated.Verify(signed); !ok || v != "sid" {
		t.Errorf("rotated signer rejects a value signed with the old secret")
	}
	if _, ok := retired.Verify(signed); ok {
		t.Errorf("value signed with a removed secret verifies")
	}
	if got := rotated.Sign("sid"); got != retired.Sign("sid") || got == signed {
		t.Errorf("rotated signer does not sign with its first secret")
	}
}

func TestSignerVerifyRejects(t *testing.T) {
	s := mustSigner(t, "mysecret")
	good := s.Sign("C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495")
	i := strings.LastIndexByte(good, '.')
	for _, bad := range []string{
		"",
		"s:",
		"s:.",
		good[2:],                                 // no prefix
		"S" + good[1:],                           // wrong prefix
		"j:" + good[2:],                          // JSON cookie prefix
		good + "=",                               // padded signature
		good + "x",                               // extra content
		good[:len(good)-1],                       // truncated signature
		good[:i],                                 // no signature
		good[:i] + "." + "Cq6V",                  // short signature
		strings.Replace(good, "C31", "C32", 1),   // changed value
		good[:i+1] + strings.ToLower(good[i+1:]), // changed signature
		good[:i] + "." + strings.ReplaceAll(good[i+1:], "/", "_"), // base64url signature
		good + ".",
		" " + good,
	} {
		if v, ok := s.Verify(bad); ok {
			t.Errorf("Verify(%q) = %q, true", bad, v)
		}
	}
}

func TestSignerValues(t *testing.T) {
	s := mustSigner(t, "k1", "k2")
	for _, v := range []string{"", ".", "a.b.c", "s:nested.x", "j:{\"a\":1}", "a+b c", "100%", "%41", "é☃", "\x00\xff", ";,\"\\"} {
		signed := s.Sign(v)
		if got, ok := s.Verify(signed); !ok || got != v {
			t.Errorf("Verify(Sign(%q)) = %q, %v", v, got, ok)
		}
		if got, ok := s.Decode(s.Encode(v)); !ok || got != v {
			t.Errorf("Decode(Encode(%q)) = %q, %v", v, got, ok)
		}
	}
}

func TestSignerDecodeErrors(t *testing.T) {
	s := mustSigner(t, "mysecret")
	good := signerGolden[0].header[len("connect.sid="):strings.IndexByte(signerGolden[0].header, ';')]
	for _, value := range []string{
		"unsigned",
		"s%3Ahello.%ZZ",
		strings.Replace(good, "%2B", "+", 1) + "x",
		strings.Replace(good, "%2B", " ", 1),
	} {
		if v, ok := s.Decode(value); ok {
			t.Errorf("Decode(%s) = %q, true", value, v)
		}
	}
	// '+' is not a space: an unescaped '+' in the signature still verifies.
	if v, ok := s.Decode(strings.ReplaceAll(good, "%2B", "+")); !ok || v != signerGolden[0].value {
		t.Errorf("Decode with a raw '+' = %q, %v", v, ok)
	}
}

func TestNewSignerErrors(t *testing.T) {
	for _, secrets := range [][][]byte{nil, {nil}, {[]byte("k"), {}}} {
		if _, err := New(secrets...); !errors.Is(err, ErrNoSecret) {
			t.Errorf("New(%q) error = %v, want ErrNoSecret", secrets, err)
		}
	}
	secret := []byte("mysecret")
	s, err := New(secret)
	if err != nil {
		t.Fatal(err)
	}
	want := s.Sign("x")
	copy(secret, "changed!")
	if s.Sign("x") != want {
		t.Error("New does not copy its secrets")
	}
}

func TestSignerEscape(t *testing.T) {
	// encodeURIComponent in JavaScript leaves exactly these unescaped.
	const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
	for c := range 256 {
		s := string([]byte{byte(c)})
		got := signerEscape(s)
		want := s
		if !strings.Contains(unreserved, s) {
			want = "%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15]))
		}
		if got != want {
			t.Errorf("signerEscape(%q) = %q, want %q", s, got, want)
		}
	}
	for in, want := range map[string]string{
		"s:a+b/c=":  "s%3Aa%2Bb%2Fc%3D",
		"é":         "%C3%A9",
		"a b;c,d\"": "a%20b%3Bc%2Cd%22",
	} {
		if got := signerEscape(in); got != want {
			t.Errorf("signerEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	for _, g := range signerGolden {
		f.Add(mustSigner(f, g.secret).Sign(g.value))
	}
	f.Add("s:a.b.c")
	a, b := mustSigner(f, "mysecret"), mustSigner(f, "second secret")
	s := mustSigner(f, "mysecret", "second secret")
	f.Fuzz(func(t *testing.T, in string) {
		// Anything that verifies is exactly what one of the secrets signs.
		if v, ok := s.Verify(in); ok && in != a.Sign(v) && in != b.Sign(v) {
			t.Fatalf("Verify(%q) accepted %q, which no secret signs that way", in, v)
		}
		// Any value survives signing and the cookie round trip.
		if v, ok := s.Verify(s.Sign(in)); !ok || v != in {
			t.Fatalf("Verify(Sign(%q)) = %q, %v", in, v, ok)
		}
		escaped := signerEscape(in)
		if u, err := url.PathUnescape(escaped); err != nil || u != in {
			t.Fatalf("PathUnescape(signerEscape(%q)) = %q, %v", in, u, err)
		}
		if v, ok := s.Decode(s.Encode(in)); !ok || v != in {
			t.Fatalf("Decode(Encode(%q)) = %q, %v", in, v, ok)
		}
	})
}

func ExampleSigner() {
	// The secrets of the Express application, newest first.
	signer, err := New([]byte("mysecret"))
	if err != nil {
		panic(err)
	}

	c := &http.Cookie{Name: "signed", Value: signer.Encode("hello"), Path: "/"}
	fmt.Println(c)

	value, ok := signer.Decode("s%3Ahello.8JOZ8MRG2EsxoIDlfsSDOS1B5vUS8%2BetpQJ6u801jCo")
	fmt.Println(value, ok)

	// Output:
	// signed=s%3Ahello.8JOZ8MRG2EsxoIDlfsSDOS1B5vUS8%2BetpQJ6u801jCo; Path=/
	// hello true
}
