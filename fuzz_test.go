package sessionkit

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// FuzzCookieValue feeds arbitrary cookie values to the parser. It must never
// panic, and anything it accepts must be a token it would itself issue,
// re-encoded to the same value.
func FuzzCookieValue(f *testing.F) {
	k := bytes.Repeat([]byte("s"), 32)
	signed := defaultTokens{signer: newTestSigner(f, k)}
	plain := defaultTokens{}
	f.Add("")
	f.Add("abc")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add(signed.Encode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	f.Fuzz(func(t *testing.T, v string) {
		for _, c := range []defaultTokens{plain, signed} {
			tok := decoded(c, v)
			if tok == "" {
				continue
			}
			if !validToken(tok) {
				t.Fatalf("decode(%q) = %q, not a valid token", v, tok)
			}
			// Escaping is not canonical (Express reads both forms), but
			// the value must decode to the same token again.
			if decoded(c, c.Encode(tok)) != tok {
				t.Fatalf("decode(encode(%q)) differs", tok)
			}
		}
	})
}

// FuzzCookieValues feeds arbitrary Cookie headers to the header parser. It
// must never panic, return more than maxCookieValues values, or return a
// value that spans two cookies.
func FuzzCookieValues(f *testing.F) {
	f.Add("sid=a")
	f.Add("sid=junk; sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add(`sid="quoted"; other=x; sid=; sid`)
	f.Add("sid=1;sid=2;sid=3;sid=4;sid=5;sid=6;sid=7")
	f.Fuzz(func(t *testing.T, header string) {
		h := http.Header{"Cookie": {header, header}}
		var buf [maxCookieValues]string
		values := cookieValues(buf[:0], h, "sid")
		if len(values) > maxCookieValues {
			t.Fatalf("%d values, more than %d", len(values), maxCookieValues)
		}
		for _, v := range values {
			if strings.Contains(v, ";") || !strings.Contains(header, v) {
				t.Fatalf("value %q is not one cookie of %q", v, header)
			}
		}
	})
}

// TestCookieValuesBounded checks that the parser keeps every cookie of the
// name, in order, up to maxCookieValues, and ignores the rest.
func TestCookieValuesBounded(t *testing.T) {
	h := http.Header{"Cookie": {"sid=1; x=y; sid=\"2\"", "sid=3;sid=4; sid=5; sid=6"}}
	got := cookieValues(nil, h, "sid")
	if want := []string{"1", "2", "3", "4", "5"}; !slices.Equal(got, want) {
		t.Fatalf("cookieValues = %q; want %q", got, want)
	}
}

// FuzzJSONCodecString checks that JSONCodec decodes any input into a
// *string exactly as encoding/json does, its fast path included.
func FuzzJSONCodecString(f *testing.F) {
	for _, s := range []string{`"gopher"`, `""`, `"a\"b"`, `"\u00e9t\u00e9"`, `"été"`, " \"x\" ", `"x`, `x"`, `"`, "\"\xff\"", "\"a\tb\"", `"\u003c"`, `null`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want string
		gotErr := JSONCodec{}.Unmarshal(data, &got)
		wantErr := json.Unmarshal(data, &want)
		if (gotErr == nil) != (wantErr == nil) || got != want {
			t.Fatalf("Unmarshal(%q) = %q, %v; encoding/json: %q, %v", data, got, gotErr, want, wantErr)
		}
	})
}

// strictToken is validToken's reference: a 43-character value without CR
// or LF (which the decoder skips) that the strict base64url decoder accepts.
func strictToken(v string) bool {
	if len(v) != tokenLen || strings.ContainsAny(v, "\r\n") {
		return false
	}
	_, err := enc.Strict().DecodeString(v)
	return err == nil
}

// FuzzValidToken checks that validToken accepts exactly the values the
// strict base64url decoder accepts as a 256-bit token.
func FuzzValidToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		if got, want := validToken(v), strictToken(v); got != want {
			t.Fatalf("validToken(%q) = %v; the strict decoder says %v", v, got, want)
		}
	})
}

// TestValidTokenEveryByte puts every byte value at every position of a
// valid token and checks validToken against the strict decoder.
func TestValidTokenEveryByte(t *testing.T) {
	valid := strings.Repeat("A", tokenLen)
	accepted := 0
	for i := range tokenLen {
		for c := range 256 {
			v := valid[:i] + string([]byte{byte(c)}) + valid[i+1:]
			got, want := validToken(v), strictToken(v)
			if got != want {
				t.Fatalf("validToken(%q) = %v; the strict decoder says %v", v, got, want)
			}
			if got {
				accepted++
			}
		}
	}
	// 64 letters at each of the first 42 positions; 16 at the last, whose
	// two low bits must be zero.
	if want := 42*64 + 16; accepted != want {
		t.Fatalf("%d variants accepted; want %d", accepted, want)
	}
}
