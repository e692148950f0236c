package sessionkit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strings"
)

const (
	expressIDBytes = 24                     // express-session's uid-safe IDs: 32 characters
	tokenBytes     = 32                     // 256 bits
	tokenLen       = (tokenBytes*8 + 5) / 6 // 43 base64url characters
	// maxCookieValue bounds what the parser looks at: a signed, escaped
	// token is under 100 bytes.
	maxCookieValue = 512
	b64url         = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

var enc = base64.RawURLEncoding

// randRead fills b from crypto/rand.
func randRead(b []byte) error {
	_, err := io.ReadFull(rand.Reader, b)
	return err
}

// newToken returns a fresh 256-bit token, base64url without padding. A
// failing entropy source is an error, never a weaker token.
func (m *Manager) newToken() (string, error) {
	var buf [tokenBytes]byte
	b := buf[:]
	if m.tokens.express {
		b = buf[:expressIDBytes]
	}
	if err := m.entropy(b); err != nil {
		return "", fmt.Errorf("sessionkit: generate token: %w", err)
	}
	return enc.EncodeToString(b), nil
}

// HashToken returns the store key for a session token: the unpadded base64url
// SHA-256 of the token. Stores only ever see this value.
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
// 43 characters of the base64url alphabet.
func validToken(t string) bool {
	// The decoder rejects every byte outside the alphabet but skips CR and
	// LF, so those are checked first. Strict decoding rejects non-canonical
	// encodings (the last character carries only 4 significant bits), so
	// one token has exactly one spelling.
	if len(t) != tokenLen || strings.ContainsAny(t, "\r\n") {
		return false
	}
	var buf [tokenBytes]byte
	_, err := enc.Strict().Decode(buf[:], []byte(t))
	return err == nil
}

// tokenCodec turns tokens into cookie values and back, and tokens into
// store keys. With a signer, the value is the token signed as Express signs
// cookies ("s:" + token + "." + HMAC, URL-escaped); the first secret signs
// and every secret verifies.
type tokenCodec struct {
	signer  *Signer
	express bool // Express-compatible IDs: 24 random bytes, stored as they are
}

func (c tokenCodec) encode(token string) string {
	if c.signer == nil {
		return token
	}
	return signerEscape(c.signer.Sign(token))
}

// decode returns the token inside a cookie value, or "" when the value is
// malformed or its signature does not verify.
func (c tokenCodec) decode(value string) string {
	if len(value) > maxCookieValue {
		return ""
	}
	token := value
	if c.signer != nil {
		if strings.Contains(value, "%") {
			u, err := url.PathUnescape(value) // "+" stays "+", as in Express
			if err != nil {
				return ""
			}
			value = u
		}
		var ok bool
		if token, ok = c.signer.Verify(value); !ok {
			return ""
		}
	}
	if c.express {
		if !validExpressID(token) {
			return ""
		}
	} else if !validToken(token) {
		return ""
	}
	return token
}

// storeID returns the store key for a token: its hash, or in Express mode
// the session ID itself, as express-session stores it.
func (c tokenCodec) storeID(token string) string {
	if c.express {
		return token
	}
	return HashToken(token)
}

// validExpressID accepts the IDs express-session generates (uid-safe:
// base64url) up to a sane length.
func validExpressID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if strings.IndexByte(b64url, id[i]) < 0 {
			return false
		}
	}
	return true
}
