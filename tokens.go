package sessionkit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/sessionkit/sessionkit/cookiesig"
)

// Tokens is a token scheme: how a session token is made, carried in the
// cookie and turned into a store key; it must be safe for concurrent use.
// The default issues 256-bit tokens from crypto/rand, signs them when
// Config.Secrets is set, and keys stores by HashToken. Package express
// implements express-session's scheme.
type Tokens interface {
	// New returns a fresh token. A failing entropy source is an error,
	// never a weaker token.
	New() (string, error)
	// Encode returns the cookie value that carries token.
	Encode(token string) string
	// Decode returns the token carried by a cookie value. ok is false when
	// the value is malformed, forged or not a token of this scheme.
	Decode(value string) (token string, ok bool)
	// StoreKey returns the store key of token's session (Record.ID).
	StoreKey(token string) string
}

const (
	tokenBytes = 32                     // 256 bits
	tokenLen   = (tokenBytes*8 + 5) / 6 // 43 base64url characters
	// maxCookieValue bounds what the parser looks at: a signed, escaped
	// token is under 100 bytes.
	maxCookieValue = 512
)

var enc = base64.RawURLEncoding

// defaultTokens is the scheme used when Config.Tokens is nil.
type defaultTokens struct {
	signer *cookiesig.Signer // nil: the cookie value is the token itself
	rand   io.Reader         // crypto/rand.Reader; tests replace it
}

// New returns a fresh 256-bit token, base64url without padding.
func (t defaultTokens) New() (string, error) {
	var b [tokenBytes]byte
	if _, err := io.ReadFull(t.rand, b[:]); err != nil {
		return "", fmt.Errorf("sessionkit: generate token: %w", err)
	}
	return enc.EncodeToString(b[:]), nil
}

// Encode returns the token, signed when the scheme has secrets.
func (t defaultTokens) Encode(token string) string {
	if t.signer == nil {
		return token
	}
	return t.signer.Encode(token)
}

// Decode accepts exactly the values Encode produces for tokens New issues.
func (t defaultTokens) Decode(value string) (string, bool) {
	if len(value) > maxCookieValue {
		return "", false
	}
	token, ok := value, true
	if t.signer != nil {
		token, ok = t.signer.Decode(value)
	}
	if !ok || !validToken(token) {
		return "", false
	}
	return token, true
}

// StoreKey returns HashToken(token).
func (defaultTokens) StoreKey(token string) string { return HashToken(token) }

func newDefaultTokens(signer *cookiesig.Signer) defaultTokens {
	return defaultTokens{signer: signer, rand: rand.Reader}
}

// HashToken returns the store key of a token of the default scheme: the
// unpadded base64url SHA-256 of the token. Stores only ever see this value.
func HashToken(token string) string {
	var sum [sha256.Size]byte
	if len(token) <= tokenLen {
		var buf [tokenLen]byte // keeps the common case off the heap
		n := copy(buf[:], token)
		sum = sha256.Sum256(buf[:n])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	var out [tokenLen]byte
	enc.Encode(out[:], sum[:])
	return string(out[:])
}

// validToken reports whether t has the exact shape of a token we issue:
// 43 characters of the base64url alphabet, canonically encoded, so that one
// token has exactly one spelling. It accepts exactly what the strict
// decoder accepts for 43 characters without CR or LF (which the decoder
// would skip), in one pass and without decoding (FuzzValidToken checks it).
func validToken(t string) bool {
	if len(t) != tokenLen {
		return false
	}
	for i := range len(t) {
		if base64URLValue[t[i]] == invalidBase64 {
			return false
		}
	}
	// 43 characters carry 258 bits for 256: the two low bits of the last
	// character's value are padding, zero in the canonical encoding.
	return base64URLValue[t[tokenLen-1]]&3 == 0
}

// invalidBase64 marks the bytes outside the base64url alphabet in
// base64URLValue.
const invalidBase64 = 0xff

// base64URLValue maps each byte to its value in the base64url alphabet, or
// to invalidBase64: a table lookup per byte is what makes validToken cheap.
var base64URLValue = func() (t [256]byte) {
	for i := range t {
		t[i] = invalidBase64
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for v, c := range []byte(alphabet) {
		t[c] = byte(v)
	}
	return t
}()
