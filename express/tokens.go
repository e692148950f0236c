package express

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiesig"
)

// CookieName is the default name of express-session's cookie. Set it as
// sessionkit.Config.Cookie.Name when the Express application keeps the
// default.
const CookieName = "connect.sid"

// idBytes is the entropy of express-session's IDs (uid-safe: 24 bytes, 32
// base64url characters).
const idBytes = 24

// Tokens is express-session's token scheme, for sessionkit.Config.Tokens:
// session IDs as express-session generates them (uid-safe, 24 random
// bytes, 32 base64url characters), carried in the cookie signed as
// express-session signs them ("s:" + ID + "." + HMAC-SHA256, URL-escaped like
// encodeURIComponent; see package cookiesig), and stored under the ID
// itself, as connect-redis and connect-mongo key them.
//
// Since the store key is the ID, a session's store key (Session.ID,
// SessionInfo.ID) is half of a cookie: keep it as secret as one. See
// docs/EXPRESS.md for the protections this scheme gives up.
type Tokens struct {
	signer *cookiesig.Signer
	rand   io.Reader
}

var _ sessionkit.Tokens = (*Tokens)(nil)

// NewTokens returns the scheme of an Express application whose secret
// option is secrets, newest first: the first signs, every one verifies.
// Pass the secrets as their UTF-8 bytes; express-session accepts secrets of
// any length, and so does NewTokens.
func NewTokens(secrets ...[]byte) (*Tokens, error) {
	signer, err := cookiesig.New(secrets...)
	if err != nil {
		return nil, err
	}
	return &Tokens{signer: signer, rand: rand.Reader}, nil
}

// New returns a fresh express-session ID.
func (t *Tokens) New() (string, error) {
	var b [idBytes]byte
	if _, err := io.ReadFull(t.rand, b[:]); err != nil {
		return "", fmt.Errorf("express: generate session ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// Encode returns the signed, escaped cookie value of id.
func (t *Tokens) Encode(id string) string { return t.signer.Encode(id) }

// Decode returns the session ID in a cookie value when its signature
// verifies and it has the shape of an ID that express-session generates:
// base64url, up to 128 characters.
func (t *Tokens) Decode(value string) (string, bool) {
	if len(value) > 512 {
		return "", false
	}
	id, ok := t.signer.Decode(value)
	if !ok || id == "" || len(id) > 128 {
		return "", false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return id, true
}

// StoreKey returns id itself: express-session's stores key sessions by ID.
func (t *Tokens) StoreKey(id string) string { return id }
