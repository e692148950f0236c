package sessionkit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

const (
	tokenBytes = 32                      // 256 bits
	tokenLen   = (tokenBytes*8 + 5) / 6  // 43 base64url characters
	macLen     = (sha256.Size*8 + 5) / 6 // 43 base64url characters
	maxCookie  = tokenLen + 1 + macLen   // longest cookie value we accept
	b64url     = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
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
	var b [tokenBytes]byte
	if err := m.entropy(b[:]); err != nil {
		return "", fmt.Errorf("sessionkit: generate token: %w", err)
	}
	return enc.EncodeToString(b[:]), nil
}

// HashToken returns the store key for a session token: the unpadded base64url
// SHA-256 of the token. Stores only ever see this value.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return enc.EncodeToString(sum[:])
}

// validToken reports whether t has the exact shape of a token we issue:
// 43 characters of the base64url alphabet.
func validToken(t string) bool {
	if len(t) != tokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		if strings.IndexByte(b64url, t[i]) < 0 {
			return false
		}
	}
	// The last character carries only 4 significant bits; reject
	// non-canonical encodings so one token has exactly one spelling.
	_, err := enc.Strict().DecodeString(t)
	return err == nil
}

// tokenCodec turns tokens into cookie values and back. With secrets, the
// value is token + "." + base64url(HMAC-SHA256(secret, token)); the first
// secret signs and every secret verifies.
type tokenCodec struct {
	secrets [][]byte
}

func (c tokenCodec) encode(token string) string {
	if len(c.secrets) == 0 {
		return token
	}
	return token + "." + enc.EncodeToString(mac(c.secrets[0], token))
}

// decode returns the token inside a cookie value, or "" when the value is
// malformed or its signature does not verify.
func (c tokenCodec) decode(value string) string {
	if len(value) > maxCookie {
		return ""
	}
	token := value
	if len(c.secrets) > 0 {
		i := strings.LastIndexByte(value, '.')
		if i < 0 {
			return ""
		}
		token = value[:i]
		sig, err := enc.Strict().DecodeString(value[i+1:])
		if err != nil || len(sig) != sha256.Size {
			return ""
		}
		ok := 0
		for _, s := range c.secrets {
			// Check every secret, so timing does not reveal which one matched.
			ok |= boolInt(hmac.Equal(sig, mac(s, token)))
		}
		if ok == 0 {
			return ""
		}
	}
	if !validToken(token) {
		return ""
	}
	return token
}

func mac(secret []byte, msg string) []byte {
	h := hmac.New(sha256.New, secret)
	io.WriteString(h, msg)
	return h.Sum(nil)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
