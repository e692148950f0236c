package redislayout

import (
	"context"
	"errors"
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

// RememberClient is what RememberTokens needs of a store's Redis client.
// Its methods return errors already wrapped by the store (WrapError) with
// op, the operation that runs them.
type RememberClient interface {
	// Run runs script, one of this package's by source, on key with args
	// (EVALSHA, falling back to EVAL) and returns its reply as a string
	// (an integer in decimal), with ok false for a nil reply.
	Run(ctx context.Context, op, script, key string, args []string) (reply string, ok bool, err error)
	// HGetAll returns the fields of the hash key.
	HGetAll(ctx context.Context, op, key string) (map[string]string, error)
	// ZRange returns the members of the sorted set key (ZRANGE key 0 -1).
	ZRange(ctx context.Context, op, key string) ([]string, error)
	// ZRem removes members from the sorted set key.
	ZRem(ctx context.Context, op, key string, members []string) error
}

// RememberTokens implements remember.Store on the layout for the store
// named store, through its client: the one definition of the remember-me
// flows of both stores. Create one with Layout.RememberTokens.
type RememberTokens struct {
	l     Layout
	c     RememberClient
	store string
}

// RememberTokens returns the remember-me token flows of the store named
// store through c.
func (l Layout) RememberTokens(c RememberClient, store string) *RememberTokens {
	return &RememberTokens{l: l, c: c, store: store}
}

var _ remember.Store = (*RememberTokens)(nil)

// Create implements remember.Store. The user's set lists the token before
// the token exists, so that a DeleteUser running meanwhile finds it (or
// finds nothing under the key yet, and the token is created after the
// revocation, as if it came later); a set entry without a token is dropped
// by DeleteUser or expires.
func (r *RememberTokens) Create(ctx context.Context, t remember.Token) error {
	const op = "create remember token"
	if _, _, err := r.c.Run(ctx, op, IndexScript, r.l.RememberUserKey(t.UserID), IndexArgs(time.Now(), t.ExpiresAt, t.Selector)); err != nil {
		return err
	}
	n, _, err := r.c.Run(ctx, op, CreateScript, r.l.RememberKey(t.Selector), RememberCreateArgs(t))
	if err != nil {
		return err
	}
	if n == "0" {
		return remember.ErrExists
	}
	return nil
}

// Get implements remember.Store. A token whose ExpiresAt has passed is not
// found: Redis has deleted it.
func (r *RememberTokens) Get(ctx context.Context, selector string) (remember.Token, error) {
	const op = "get remember token"
	fields, err := r.c.HGetAll(ctx, op, r.l.RememberKey(selector))
	if err != nil {
		return remember.Token{}, err
	}
	t, err := DecodeRememberToken(selector, fields)
	if err != nil && !errors.Is(err, remember.ErrNotFound) {
		return remember.Token{}, fmt.Errorf("%s: %s: %w", r.store, op, err)
	}
	return t, err
}

// Rotate implements remember.Store in one script, so of parallel
// rotations exactly one wins.
func (r *RememberTokens) Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	n, ok, err := r.c.Run(ctx, "rotate remember token", RememberRotateScript, r.l.RememberKey(selector), RememberRotateArgs(oldHash, newHash, graceUntil))
	switch {
	case err != nil:
		return err
	case !ok:
		return remember.ErrNotFound
	case n == "0":
		return remember.ErrConflict
	}
	return nil
}

// Delete implements remember.Store.
func (r *RememberTokens) Delete(ctx context.Context, selector string) error {
	uid, err := r.delete(ctx, selector, "")
	if err != nil || uid == "" {
		return err
	}
	return r.c.ZRem(ctx, "unindex remember token", r.l.RememberUserKey(uid), []string{selector})
}

// delete deletes the token named selector if it belongs to owner (to
// anyone if owner is "") and returns its user ID, or "" if it deleted
// nothing.
func (r *RememberTokens) delete(ctx context.Context, selector, owner string) (string, error) {
	uid, _, err := r.c.Run(ctx, "delete remember token", RememberDeleteScript, r.l.RememberKey(selector), DeleteArgs(owner))
	return uid, err
}

// DeleteUser implements remember.Store: it deletes each token in the
// user's set that still belongs to the user, then the entries it read. A
// token created while it runs may survive it.
func (r *RememberTokens) DeleteUser(ctx context.Context, userID string) (int, error) {
	key := r.l.RememberUserKey(userID)
	selectors, err := r.c.ZRange(ctx, "delete remember tokens of user", key)
	if err != nil || len(selectors) == 0 {
		return 0, err
	}
	n := 0
	for _, sel := range selectors {
		uid, err := r.delete(ctx, sel, userID)
		if err != nil {
			return n, err
		}
		if uid != "" {
			n++
		}
	}
	return n, r.c.ZRem(ctx, "unindex remember token", key, selectors)
}

// DeleteExpired implements remember.Store. It has nothing to do: Redis
// deletes each token at its ExpiresAt, and a user's set drops the entries
// of expired tokens at the next write and expires with its last token.
func (r *RememberTokens) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, WrapError(ctx, r.store, "delete expired remember tokens", err, func(error) bool { return false })
	}
	return 0, nil
}
