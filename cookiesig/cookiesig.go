// Package cookiesig signs and verifies cookie values in the format of
// Express's signed cookies (the cookie-signature package behind
// cookie-parser and express-session). sessionkit's default token scheme
// signs its tokens with it when Config.Secrets is set, and package express
// signs express-session's session IDs with it.
package cookiesig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
)

// ErrNoSecret is returned by New when it is given no secret or an empty
// one.
var ErrNoSecret = errors.New("cookiesig: signer needs at least one non-empty secret")

// signerPrefix marks a signed value, as in cookie-parser and express-session.
const signerPrefix = "s:"

// A Signer signs and verifies cookie values in the format of Express's
// signed cookies (cookie-parser, res.cookie with signed: true and the
// express-session cookie):
//
//	"s:" + value + "." + base64(HMAC-SHA256(secret, value))
//
// where the signature uses standard base64 with the trailing "=" removed.
// A Signer is safe for concurrent use.
//
// Signing uses the first secret; verification accepts any of them, so a
// secret can be rotated by putting the new one first and keeping the old ones
// until every cookie signed with them has expired.
//
// A signed value is readable by the client: signing proves that the server
// wrote it, it does not hide it.
type Signer struct {
	secrets [][]byte
}

// New returns a Signer that signs with secrets[0] and verifies with
// any of secrets. It returns ErrNoSecret if no secret is given or one of
// them is empty. Secrets should hold at least 32 random bytes; the secrets
// of an existing Express application (its secret option) can be used as
// they are, as their UTF-8 bytes.
//
// New copies the secrets.
func New(secrets ...[]byte) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, ErrNoSecret
	}
	s := &Signer{secrets: make([][]byte, len(secrets))}
	for i, secret := range secrets {
		if len(secret) == 0 {
			return nil, ErrNoSecret
		}
		s.secrets[i] = append([]byte(nil), secret...)
	}
	return s, nil
}

// signerMAC returns the unpadded standard base64 HMAC-SHA256 of value under
// secret, as cookie-signature computes it.
func signerMAC(secret []byte, value string) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(value))
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}

// Sign returns value signed with the first secret:
// "s:" + value + "." + signature.
func (s *Signer) Sign(value string) string {
	return signerPrefix + value + "." + signerMAC(s.secrets[0], value)
}

// Verify reports whether signed was produced by Sign with one of the
// signer's secrets and, if so, returns the value that was signed. It
// requires the "s:" prefix and takes the signature after the last ".", so
// the value itself may contain dots. The signatures are compared in
// constant time.
func (s *Signer) Verify(signed string) (value string, ok bool) {
	rest, found := strings.CutPrefix(signed, signerPrefix)
	if !found {
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return "", false
	}
	value, sig := rest[:i], rest[i+1:]
	for _, secret := range s.secrets {
		if hmac.Equal([]byte(signerMAC(secret, value)), []byte(sig)) {
			return value, true
		}
	}
	return "", false
}

// Encode returns value signed with Sign and then escaped as JavaScript's
// encodeURIComponent escapes it (":" becomes %3A, "+" %2B, "/" %2F, "=" %3D):
// the cookie value Express writes for a signed cookie.
func (s *Signer) Encode(value string) string {
	return signerEscape(s.Sign(value))
}

// Decode returns the verified value of a cookie value written by Encode, as
// Express reads a signed cookie: the value is unescaped with
// url.PathUnescape (a "+" stays a "+"; a value that does not unescape is
// verified as it is), then verified with Verify.
func (s *Signer) Decode(cookieValue string) (value string, ok bool) {
	if strings.Contains(cookieValue, "%") {
		if u, err := url.PathUnescape(cookieValue); err == nil {
			cookieValue = u
		}
	}
	return s.Verify(cookieValue)
}

// signerEscape escapes s as JavaScript's encodeURIComponent does: every
// byte except ASCII letters, digits and - _ . ! ~ * ' ( ) becomes %XX with
// upper-case hex digits.
func signerEscape(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !signerUnreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if signerUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// signerUnreserved reports whether encodeURIComponent leaves c as it is.
func signerUnreserved(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '_', '.', '!', '~', '*', '\'', '(', ')':
		return true
	}
	return false
}
