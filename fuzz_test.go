package sessionkit

import (
	"bytes"
	"encoding/json"
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
