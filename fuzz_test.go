package sessionkit

import (
	"bytes"
	"testing"
)

// FuzzCookieValue feeds arbitrary cookie values to the parser. It must never
// panic, and anything it accepts must be a token it would itself issue,
// re-encoded to the same value.
func FuzzCookieValue(f *testing.F) {
	k := bytes.Repeat([]byte("s"), 32)
	signed := tokenCodec{signer: newTestSigner(f, k)}
	plain := tokenCodec{}
	f.Add("")
	f.Add("abc")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add(signed.encode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	express := tokenCodec{signer: newTestSigner(f, []byte("keyboard cat")), express: true}
	f.Add(express.encode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	f.Fuzz(func(t *testing.T, v string) {
		for _, c := range []tokenCodec{plain, signed, express} {
			tok := c.decode(v)
			if tok == "" {
				continue
			}
			if !validToken(tok) && !(c.express && validExpressID(tok)) {
				t.Fatalf("decode(%q) = %q, not a valid token", v, tok)
			}
			// Escaping is not canonical (Express reads both forms), but
			// the value must decode to the same token again.
			if c.decode(c.encode(tok)) != tok {
				t.Fatalf("decode(encode(%q)) differs", tok)
			}
		}
	})
}
