package redislayout

import (
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/remember"
)

// Remember-me tokens (package remember) live beside the sessions. Each
// token is a hash under RememberKey(selector), written by CreateScript with
// RememberCreateArgs, that expires at the token's ExpiresAt; rotations
// leave the expiry alone. Each user with tokens has a sorted set of their
// selectors under RememberUserKey, scored by ExpiresAt and kept by
// IndexScript like a session index, so that it expires with its last
// token. A token key is placed by its selector and a user set by the user
// ID, and every script touches one key, so the layout works on a Cluster.
//
// The fields of a token hash: the user ID, the current and previous
// validator hashes (32 raw bytes each), the end of the previous hash's
// grace, the creation and expiry times (Unix nanoseconds, "0" for the zero
// time) and the User-Agent.
const (
	RememberFieldUser      = "u"
	RememberFieldHash      = "h"
	RememberFieldPrevHash  = "p"
	RememberFieldGrace     = "g"
	RememberFieldCreated   = "c"
	RememberFieldExpires   = "e"
	RememberFieldUserAgent = "a"
)

// RememberKey returns the key of the hash that holds the remember-me token
// named selector.
func (l Layout) RememberKey(selector string) string {
	return l.prefix + "r:{" + selector + "}"
}

// RememberUserKey returns the key of the sorted set of the remember-me
// token selectors of userID.
func (l Layout) RememberUserKey(userID string) string {
	return l.prefix + "ru:{" + userID + "}"
}

// RememberRotateScript replaces the current hash of the token under
// KEYS[1] by ARGV[2] if it is still ARGV[1], keeping the old one as the
// previous hash with grace end ARGV[3]. It returns 1 if it rotated, 0 if
// the current hash is another, and nil if there is no token. Its arguments
// are RememberRotateArgs.
const RememberRotateScript = `
local h = redis.call('HGET', KEYS[1], 'h')
if not h then
  return false
end
if h ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'h', ARGV[2], 'p', h, 'g', ARGV[3])
return 1
`

// RememberDeleteScript deletes the token under KEYS[1] and returns its user
// ID, or nil if there was no token. With ARGV[1] set, it deletes the token
// only if it belongs to that user.
const RememberDeleteScript = `
local u = redis.call('HGET', KEYS[1], 'u')
if not u or (ARGV[1] ~= '' and u ~= ARGV[1]) then
  return false
end
redis.call('DEL', KEYS[1])
return u
`

// RememberCreateArgs returns the arguments of CreateScript for t: its
// expiry, then the fields of its hash.
func RememberCreateArgs(t remember.Token) []string {
	return []string{unixMilli(t.ExpiresAt),
		RememberFieldUser, t.UserID,
		RememberFieldHash, string(t.Hash[:]),
		RememberFieldPrevHash, string(t.PrevHash[:]),
		RememberFieldGrace, string(appendTime(nil, t.GraceUntil)),
		RememberFieldCreated, string(appendTime(nil, t.CreatedAt)),
		RememberFieldExpires, string(appendTime(nil, t.ExpiresAt)),
		RememberFieldUserAgent, t.UserAgent,
	}
}

// RememberRotateArgs returns the arguments of RememberRotateScript.
func RememberRotateArgs(oldHash, newHash [32]byte, graceUntil time.Time) []string {
	return []string{string(oldHash[:]), string(newHash[:]), string(appendTime(nil, graceUntil))}
}

// DecodeRememberToken returns the token named selector from the fields of
// its hash, or remember.ErrNotFound when there are none. Its errors never
// quote the fields.
func DecodeRememberToken(selector string, fields map[string]string) (remember.Token, error) {
	if len(fields) == 0 {
		return remember.Token{}, remember.ErrNotFound
	}
	t := remember.Token{Selector: selector, UserID: fields[RememberFieldUser], UserAgent: fields[RememberFieldUserAgent]}
	hash, prev := fields[RememberFieldHash], fields[RememberFieldPrevHash]
	if len(hash) != len(t.Hash) || len(prev) != len(t.PrevHash) {
		return remember.Token{}, fmt.Errorf("remember-me token: %w hash", ErrMalformed)
	}
	copy(t.Hash[:], hash)
	copy(t.PrevHash[:], prev)
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{
		{RememberFieldGrace, &t.GraceUntil},
		{RememberFieldCreated, &t.CreatedAt},
		{RememberFieldExpires, &t.ExpiresAt},
	} {
		v, err := decodeTime(fields[f.name])
		if err != nil {
			return remember.Token{}, fmt.Errorf("remember-me token: %w time field %q", ErrMalformed, f.name)
		}
		*f.dst = v
	}
	return t, nil
}
