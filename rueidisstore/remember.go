package rueidisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit/redislayout"
	"github.com/sessionkit/sessionkit/remember"
)

// The remember-me scripts, their sources in package redislayout.
var (
	rememberRotateScript = rueidis.NewLuaScript(redislayout.RememberRotateScript)
	rememberDeleteScript = rueidis.NewLuaScript(redislayout.RememberDeleteScript)
)

// RememberStore is a remember.Store that keeps remember-me tokens in
// Redis, beside the sessions of a Store and under its prefix, in the
// layout of package redislayout: the same keys as redisstore's
// RememberStore, so the two are interchangeable on the same data. Each
// token is a hash that expires at the token's ExpiresAt; Rotate is a
// script that compares and swaps the hash; each user has a sorted set of
// their tokens, which DeleteUser walks, so that it works on a Cluster. It
// is safe for concurrent use.
type RememberStore struct {
	s *Store
}

var _ remember.Store = (*RememberStore)(nil)

// NewRememberStore returns a token store that uses the client and prefix
// of s. It does not contact the server.
func NewRememberStore(s *Store) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("rueidisstore: nil *Store")
	}
	return &RememberStore{s: s}, nil
}

// Create implements remember.Store. The user's set lists the token before
// the token exists, so that a DeleteUser running meanwhile finds it.
func (r *RememberStore) Create(ctx context.Context, t remember.Token) error {
	s := r.s
	err := s.run(ctx, indexScript, s.layout.RememberUserKey(t.UserID), redislayout.IndexArgs(time.Now(), t.ExpiresAt, t.Selector)).Error()
	if err != nil {
		return wrapErr(ctx, "create remember token", err)
	}
	n, err := s.run(ctx, createScript, s.layout.RememberKey(t.Selector), redislayout.RememberCreateArgs(t)).AsInt64()
	if err != nil {
		return wrapErr(ctx, "create remember token", err)
	}
	if n == 0 {
		return remember.ErrExists
	}
	return nil
}

// Get implements remember.Store. A token whose ExpiresAt has passed is not
// found: Redis has deleted it.
func (r *RememberStore) Get(ctx context.Context, selector string) (remember.Token, error) {
	c := r.s.client
	fields, err := c.Do(ctx, c.B().Hgetall().Key(r.s.layout.RememberKey(selector)).Build()).AsStrMap()
	if err != nil {
		return remember.Token{}, wrapErr(ctx, "get remember token", err)
	}
	t, err := redislayout.DecodeRememberToken(selector, fields)
	if err != nil && !errors.Is(err, remember.ErrNotFound) {
		return remember.Token{}, errors.New("rueidisstore: get remember token: " + err.Error())
	}
	return t, err
}

// Rotate implements remember.Store in one script, so of parallel
// rotations exactly one wins.
func (r *RememberStore) Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	n, err := r.s.run(ctx, rememberRotateScript, r.s.layout.RememberKey(selector), redislayout.RememberRotateArgs(oldHash, newHash, graceUntil)).AsInt64()
	switch {
	case rueidis.IsRedisNil(err):
		return remember.ErrNotFound
	case err != nil:
		return wrapErr(ctx, "rotate remember token", err)
	case n == 0:
		return remember.ErrConflict
	}
	return nil
}

// Delete implements remember.Store.
func (r *RememberStore) Delete(ctx context.Context, selector string) error {
	uid, err := r.delete(ctx, selector, "")
	if err != nil || uid == "" {
		return err
	}
	return r.unindex(ctx, uid, []string{selector})
}

// delete deletes the token named selector if it belongs to owner (to
// anyone if owner is "") and returns its user ID, or "" if it deleted
// nothing.
func (r *RememberStore) delete(ctx context.Context, selector, owner string) (string, error) {
	uid, err := r.s.run(ctx, rememberDeleteScript, r.s.layout.RememberKey(selector), redislayout.DeleteArgs(owner)).ToString()
	if rueidis.IsRedisNil(err) {
		return "", nil
	}
	if err != nil {
		return "", wrapErr(ctx, "delete remember token", err)
	}
	return uid, nil
}

// unindex removes selectors from the set of userID.
func (r *RememberStore) unindex(ctx context.Context, userID string, selectors []string) error {
	c := r.s.client
	if err := c.Do(ctx, c.B().Zrem().Key(r.s.layout.RememberUserKey(userID)).Member(selectors...).Build()).Error(); err != nil {
		return wrapErr(ctx, "unindex remember token", err)
	}
	return nil
}

// DeleteUser implements remember.Store: it deletes each token in the
// user's set that still belongs to the user, then the entries it read. A
// token created while it runs may survive it.
func (r *RememberStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	c := r.s.client
	selectors, err := c.Do(ctx, c.B().Zrange().Key(r.s.layout.RememberUserKey(userID)).Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		return 0, wrapErr(ctx, "delete remember tokens of user", err)
	}
	if len(selectors) == 0 {
		return 0, nil
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
	return n, r.unindex(ctx, userID, selectors)
}

// DeleteExpired implements remember.Store. It has nothing to do: Redis
// deletes each token at its ExpiresAt, and a user's set drops the entries
// of expired tokens at the next write and expires with its last token.
func (r *RememberStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrapErr(ctx, "delete expired remember tokens", err)
	}
	return 0, nil
}
