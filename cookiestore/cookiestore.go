// Package cookiestore keeps whole sessions in the cookie, sealed with
// AES-256-GCM, as a sessionkit.ClientStore.
//
// A cookie value is the version prefix "v1." followed by the unpadded
// base64url encoding of a random 96-bit nonce and the ciphertext. The
// encryption key is derived with HKDF-SHA256 from a secret; the associated
// data binds the version prefix and the cookie name, so a value cannot be
// replayed in another cookie or read by another format. The sealed payload
// holds the sessionkit.Record and the time it was sealed; the record's
// ExpiresAt and AbsoluteExpiry are checked against the server's clock on
// every Open, whatever the cookie's own Max-Age says.
//
// # Keys
//
// Options.Keys lists secrets of at least 32 random bytes. The first one seals
// and every one opens, so a key is rotated by putting a new secret first and
// keeping the old one until every cookie sealed with it has expired. A value
// opened with any key but the first should be sealed again and sent back:
// Store.OpenReseal reports it. Removing a secret from the list makes every
// cookie sealed with it invalid at once. A key must not seal more than 2^32
// values (random nonces); rotate well before that.
//
// # Revocation
//
// A sealed cookie stays valid until it expires, even after logout, unless the
// server remembers that it was revoked. Options.Revocations is that memory:
// Open asks it about every authentic, unexpired value (one call, at most one
// round trip), Store.Revoke ends one session (logout, renewal) until the
// session's absolute deadline, and Store.RevokeUser ends every session of a
// user created before a time ("sign out everywhere"), remembered for
// Options.MaxLifetime. Without Revocations, logout only deletes the cookie
// from the browser, and a copy of it keeps working until it expires.
//
// NewMemoryRevocations keeps the list in memory: it suits a single server
// process, but it is per instance and lost on restart, so with several app
// instances (or after a restart) a logged-out cookie opens again elsewhere.
// Shared lists, purged when their entries expire, are redisstore.NewRevocations,
// pgstore.NewRevocations and sqlitestore.NewRevocations; package
// cookiestore/revocationstest is the conformance suite for others.
//
// A shared list fails closed: when it cannot be read, Open returns its error
// (wrapping sessionkit.ErrUnavailable when the backend is unreachable) and
// no record, so the manager answers 503 rather than accept a cookie whose
// revocation it cannot check.
//
// # Size
//
// Browsers drop cookies whose name and value exceed 4096 bytes. Seal returns
// ErrTooLarge instead of producing such a value; the AEAD overhead, encoding
// and record fields leave somewhat less than 3 KB for session values.
package cookiestore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/recordcodec"
)

// MaxCookieSize is the largest size in bytes of a cookie's name and value
// together that Seal produces, the limit browsers are required to support.
const MaxCookieSize = 4096

// MinKeySize is the smallest secret, in bytes, that New accepts.
const MinKeySize = 32

// DefaultCookieName is the cookie name bound into the associated data when
// Options.CookieName is empty. It is the sessionkit manager's default.
const DefaultCookieName = "__Host-sid"

// version is the prefix of every value in the current format.
const version = "v1."

// ErrTooLarge is returned by Seal when the cookie name and sealed value would
// together exceed MaxCookieSize bytes, so a browser would drop the cookie.
var ErrTooLarge = errors.New("cookiestore: sealed session too large for a cookie")

// ErrNoRevocations is returned by Store.RevokeUser when the store has no
// Revocations, so that "sign out everywhere" cannot silently do nothing.
var ErrNoRevocations = errors.New("cookiestore: no Revocations configured")

// b64 encodes sealed values. Strict rejects non-zero padding bits, so each
// sealed byte string has exactly one valid encoding.
var b64 = base64.RawURLEncoding.Strict()

// Options configures a Store.
type Options struct {
	// Keys are the secrets, each at least MinKeySize random bytes. The
	// first seals; all of them open. At least one is required.
	Keys [][]byte

	// CookieName is the name of the cookie the values are sent in. It is
	// bound into every value, so a value only opens under the same name.
	// It must match the manager's cookie name. Empty means
	// DefaultCookieName.
	CookieName string

	// Now returns the current time. Nil means time.Now. Tests set a fake
	// clock here and in the manager.
	Now func() time.Time

	// Revocations, if not nil, is checked on every Open and updated by
	// Revoke and RevokeUser. Without it sessions cannot be ended before
	// they expire. NewMemoryRevocations is per process; see Revocations
	// for shared lists.
	Revocations Revocations

	// MaxLifetime is the longest time a session can live from its
	// creation: at least the manager's longest absolute lifetime
	// (Config.RememberMeLifetime when remember-me is used, else
	// Config.Lifetime). RevokeUser keeps its entry that long after its
	// cutoff. With Revocations, a session of a user that would live
	// longer (or has no AbsoluteExpiry) is refused: Seal returns an
	// error and Open does not open it. Zero means DefaultMaxLifetime.
	MaxLifetime time.Duration
}

// DefaultMaxLifetime is Options.MaxLifetime when it is zero: the manager's
// default remember-me lifetime, the longest of its default lifetimes.
const DefaultMaxLifetime = sessionkit.DefaultRememberMeLifetime

// A Store seals sessions into cookie values and opens them again. It
// implements sessionkit.ClientStore and is safe for concurrent use.
type Store struct {
	aeads []cipher.AEAD // one per key; aeads[0] seals
	ad    []byte        // associated data: version and cookie name
	name  string
	now   func() time.Time
	revs  Revocations
	life  time.Duration // Options.MaxLifetime
}

var _ sessionkit.ClientStore = (*Store)(nil)

// New returns a Store configured by opts. It returns an error if opts has no
// key or a key shorter than MinKeySize. The secrets are not retained: New
// derives the encryption keys from them.
func New(opts Options) (*Store, error) {
	if len(opts.Keys) == 0 {
		return nil, errors.New("cookiestore: no keys")
	}
	s := &Store{
		name: opts.CookieName,
		now:  opts.Now,
		revs: opts.Revocations,
		life: opts.MaxLifetime,
	}
	if s.life < 0 {
		return nil, fmt.Errorf("cookiestore: negative MaxLifetime %v", s.life)
	}
	if s.life == 0 {
		s.life = DefaultMaxLifetime
	}
	if s.name == "" {
		s.name = DefaultCookieName
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ad = []byte("sessionkit/cookiestore\x00" + version + "\x00" + s.name)
	for i, secret := range opts.Keys {
		if len(secret) < MinKeySize {
			return nil, fmt.Errorf("cookiestore: key %d is %d bytes, want at least %d", i, len(secret), MinKeySize)
		}
		key, err := hkdf.Key(sha256.New, secret, nil, "sessionkit/cookiestore "+version+" AES-256-GCM", 32)
		if err != nil {
			return nil, fmt.Errorf("cookiestore: derive key %d: %w", i, err)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("cookiestore: key %d: %w", i, err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("cookiestore: key %d: %w", i, err)
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// The optional capabilities of a ClientStore that Store implements.
var (
	_ sessionkit.Resealer    = (*Store)(nil)
	_ sessionkit.UserRevoker = (*Store)(nil)
	_ sessionkit.CookieNamer = (*Store)(nil)
)

// CookieName returns the cookie name bound into the store's values
// (sessionkit.CookieNamer): sessionkit.New refuses a manager whose cookie
// has another name, under which no value would open.
func (s *Store) CookieName() string {
	return s.name
}

// Seal returns the cookie value holding rec, sealed with the first key. It
// returns an error wrapping ErrTooLarge if the cookie name and value would
// exceed MaxCookieSize bytes, and an error if rec has no ID (which
// revocation needs) or no ExpiresAt (a sealed session must expire). Seal does
// not modify rec.
func (s *Store) Seal(ctx context.Context, rec *sessionkit.Record) (string, error) {
	switch {
	case rec == nil:
		return "", errors.New("cookiestore: seal nil record")
	case rec.ID == "":
		return "", errors.New("cookiestore: seal record without ID")
	case rec.ExpiresAt.IsZero():
		return "", errors.New("cookiestore: seal record without ExpiresAt")
	case s.outlivesCutoffs(rec):
		return "", fmt.Errorf("cookiestore: seal a session of a user living %v from its creation, longer than Options.MaxLifetime (%v), after which RevokeUser forgets its cutoff", rec.AbsoluteExpiry.Sub(rec.CreatedAt), s.life)
	}
	plain := recordcodec.Append(nil, s.now(), rec)
	sealed := s.aeads[0].Seal(nil, nil, plain, s.ad)
	n := len(s.name) + len(version) + b64.EncodedLen(len(sealed))
	if n > MaxCookieSize {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, n, MaxCookieSize)
	}
	return version + b64.EncodeToString(sealed), nil
}

// Open returns the record sealed in value, or (nil, nil) if value is not an
// authentic value for this store and cookie name (forged, tampered with,
// truncated, sealed with an unknown key or in another format), or if the
// record has expired or been revoked. It returns an error only when the
// Revocations backend fails. The record's times are in UTC and its Values
// map is never nil.
//
// Open does not report that value should be sealed again with the current
// key; OpenReseal does.
func (s *Store) Open(ctx context.Context, value string) (*sessionkit.Record, error) {
	rec, _, err := s.OpenReseal(ctx, value)
	return rec, err
}

// OpenReseal is Open that also reports whether value was sealed with a key
// other than the first. When reseal is true the caller should seal the
// record again and send the new value, so that the old key can be retired.
// It implements sessionkit.Resealer, which the manager uses.
func (s *Store) OpenReseal(ctx context.Context, value string) (rec *sessionkit.Record, reseal bool, err error) {
	if len(value) > MaxCookieSize || len(value) < len(version) || value[:len(version)] != version {
		return nil, false, nil
	}
	enc := value[len(version):]
	sealed, err := b64.DecodeString(enc)
	// The decoder skips '\r' and '\n'; accept only the canonical encoding.
	if err != nil || b64.EncodedLen(len(sealed)) != len(enc) {
		return nil, false, nil
	}
	var plain []byte
	for i, aead := range s.aeads {
		if p, err := aead.Open(nil, nil, sealed, s.ad); err == nil {
			plain, reseal = p, i > 0
			break
		}
	}
	if plain == nil {
		return nil, false, nil
	}
	// Only authenticated bytes reach the decoder.
	rec, _, ok := recordcodec.Parse(plain)
	if !ok {
		return nil, false, nil
	}
	now := s.now()
	if !now.Before(rec.ExpiresAt) || (!rec.AbsoluteExpiry.IsZero() && !now.Before(rec.AbsoluteExpiry)) {
		return nil, false, nil
	}
	if s.outlivesCutoffs(rec) {
		return nil, false, nil // sealed under a longer MaxLifetime
	}
	if s.revs != nil {
		revoked, err := s.revs.Revoked(ctx, rec)
		if err != nil {
			return nil, false, fmt.Errorf("cookiestore: check revocation: %w", err)
		}
		if revoked {
			return nil, false, nil
		}
	}
	return rec, reseal, nil
}

// outlivesCutoffs reports whether rec is a session of a user that could
// still open after RevokeUser's cutoff entries are forgotten: one without
// an absolute deadline, or living longer than MaxLifetime from its
// creation. With Revocations, such a record is never sealed or opened, so
// "sign out everywhere" holds for the whole life of every session.
func (s *Store) outlivesCutoffs(rec *sessionkit.Record) bool {
	return s.revs != nil && rec.UserID != "" &&
		(rec.AbsoluteExpiry.IsZero() || rec.AbsoluteExpiry.Sub(rec.CreatedAt) > s.life)
}

// Revoke ends the session rec, so that no copy of its cookie opens again
// before it expires: the entry is kept until rec's AbsoluteExpiry, or
// without one until its ExpiresAt plus one idle period (ExpiresAt -
// LastSeen). Without Revocations, Revoke does nothing and returns nil: the
// caller can still delete the cookie from the browser, but a copy of it
// stays valid until it expires.
func (s *Store) Revoke(ctx context.Context, rec *sessionkit.Record) error {
	if s.revs == nil || rec == nil {
		return nil
	}
	return s.revs.Revoke(ctx, rec.ID, rec.UserID, revokeUntil(rec))
}

// RevokeUser ends every session of userID whose CreatedAt is before before
// ("sign out everywhere"). To keep the current session, give it a CreatedAt
// not before before (for example by renewing it) and seal it again. It
// returns ErrNoRevocations if the store has no Revocations. The entry is
// kept until before plus Options.MaxLifetime. It implements
// sessionkit.UserRevoker.
func (s *Store) RevokeUser(ctx context.Context, userID string, before time.Time) error {
	if s.revs == nil {
		return ErrNoRevocations
	}
	return s.revs.RevokeUser(ctx, userID, before, before.Add(s.life))
}
