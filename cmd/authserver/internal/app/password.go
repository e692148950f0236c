package app

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2id parameters for new hashes: the OWASP Password Storage Cheat
// Sheet's second option (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Password length limits, counted in Unicode code points. Passwords are
// never trimmed, normalised or case-folded.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

var errUnknownHashType = errors.New("unknown password hash format")

// PasswordProblem returns a message for the user when password is not
// acceptable for username, or "" when it is. Length is counted in Unicode
// code points; any character is allowed, with no composition rules.
func PasswordProblem(username, password string) string {
	if !utf8.ValidString(password) {
		return "The password is not valid text."
	}
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLen:
		return fmt.Sprintf("Choose a password of at least %d characters.", MinPasswordLen)
	case n > MaxPasswordLen:
		return fmt.Sprintf("Choose a password of at most %d characters.", MaxPasswordLen)
	case isCommonPassword(password):
		return "That password is one of the most common ones; choose another."
	case strings.EqualFold(password, username):
		return "The password must not be the username."
	}
	return ""
}

// HashPassword returns an argon2id hash of password in the PHC string
// format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether password matches hash, which is either an
// argon2id PHC string or a bcrypt hash ($2a$, $2b$, $2y$, as Node's bcrypt
// writes them). needsRehash is true when the password matched a hash that
// is not argon2id with the current parameters.
func VerifyPassword(hash, password string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		return verifyArgon2id(hash, password)
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
			return false, false, nil
		}
		return false, false, err
	}
	return false, false, errUnknownHashType
}

func verifyArgon2id(hash, password string) (ok, needsRehash bool, err error) {
	// $argon2id$v=19$m=19456,t=2,p=1$salt$key
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return false, false, errors.New("malformed argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, errors.New("unsupported argon2id version")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, false, errors.New("malformed argon2id parameters")
	}
	if m == 0 || m > 1<<20 || t == 0 || t > 16 || p == 0 {
		return false, false, errors.New("argon2id parameters out of range")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, false, errors.New("malformed argon2id salt")
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return false, false, errors.New("malformed argon2id key")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	weaker := m < argonMemory || t < argonTime || len(want) < argonKeyLen || len(salt) < argonSaltLen
	return true, weaker, nil
}
