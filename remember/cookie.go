package remember

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Sizes of the two halves of a cookie value, before base64url encoding.
const (
	selectorBytes  = 16 // 128 bits: unguessable, and a lookup key
	validatorBytes = 32 // 256 bits: the secret
)

var enc = base64.RawURLEncoding

// ErrMalformed: the cookie value is not selector.validator.
var ErrMalformed = errors.New("remember: malformed cookie value")

// parseValue splits a cookie value "selector.validator" into the selector
// (as sent, for a store lookup) and the decoded validator. It accepts only
// the exact form that Issue writes: unpadded base64url of 16 and 32 bytes.
func parseValue(v string) (selector string, validator []byte, err error) {
	sel, val, ok := strings.Cut(v, ".")
	if !ok || !canonical(sel, selectorBytes) || !canonical(val, validatorBytes) {
		return "", nil, ErrMalformed
	}
	validator, _ = enc.DecodeString(val)
	return sel, validator, nil
}

// canonical reports whether s is the unpadded base64url encoding of n bytes
// and nothing else (the decoder alone skips line breaks, and would accept
// other bits in the last character).
func canonical(s string, n int) bool {
	if len(s) != enc.EncodedLen(n) {
		return false
	}
	b, err := enc.DecodeString(s)
	return err == nil && len(b) == n && enc.EncodeToString(b) == s
}

// newSelector returns a random selector.
func newSelector() (string, error) {
	b := make([]byte, selectorBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("remember: random selector: %w", err)
	}
	return enc.EncodeToString(b), nil
}

// newValidator returns a random validator, its encoding for the cookie and
// its hash for the store.
func newValidator() (encoded string, hash [32]byte, err error) {
	b := make([]byte, validatorBytes)
	if _, err := rand.Read(b); err != nil {
		return "", hash, fmt.Errorf("remember: random validator: %w", err)
	}
	return enc.EncodeToString(b), sha256.Sum256(b), nil
}
