package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/redislayout"
	"github.com/sessionkit/sessionkit/remember"
)

// The remember-me scripts, their sources in package redislayout.
var (
	rememberRotateScript = redis.NewScript(redislayout.RememberRotateScript)
	rememberDeleteScript = redis.NewScript(redislayout.RememberDeleteScript)
)

// RememberStore is a remember.Store that keeps remember-me tokens in
// Redis, beside the sessions of a Store and under its prefix, so that they
// survive a restart and are shared by every instance. Each token is a hash
// that expires at the token's ExpiresAt; Rotate is a script that compares
// and swaps the hash; each user has a sorted set of their tokens, which
// DeleteUser walks, so that it works on a Cluster, where the tokens of a
// user lie in many hash slots. See the README for the keys. It is safe for
// concurrent use.
type RememberStore struct {
	s *Store
}

var _ remember.Store = (*RememberStore)(nil)

// NewRememberStore returns a token store that uses the client and prefix
// of s. It does not contact the server.
func NewRememberStore(s *Store) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("redisstore: nil *Store")
	}
	return &RememberStore{s: s}, nil
}

// Create implements remember.Store. The user's set lists the token before
// the token exists, so that a DeleteUser running meanwhile finds it (or
// finds nothing under the key yet, and the token is created after the
// revocation, as if it came later); a set entry without a token is dropped
// by DeleteUser or expires.
func (r *RememberStore) Create(ctx context.Context, t remember.Token) error {
	s := r.s
	err := s.run(ctx, indexScript, s.layout.RememberUserKey(t.UserID), redislayout.IndexArgs(time.Now(), t.ExpiresAt, t.Selector)).Err()
	if err != nil {
		return s.wrapErr(ctx, "create remember token", err)
	}
	n, err := s.run(ctx, createScript, s.layout.RememberKey(t.Selector), redislayout.RememberCreateArgs(t)).Int()
	if err != nil {
		return s.wrapErr(ctx, "create remember token", err)
	}
	if n == 0 {
		return remember.ErrExists
	}
	return nil
}

// Get implements remember.Store. A token whose ExpiresAt has passed is not
// found: Redis has deleted it.
func (r *RememberStore) Get(ctx context.Context, selector string) (remember.Token, error) {
	fields, err := r.s.client.HGetAll(ctx, r.s.layout.RememberKey(selector)).Result()
	if err != nil {
		return remember.Token{}, r.s.wrapErr(ctx, "get remember token", err)
	}
	t, err := redislayout.DecodeRememberToken(selector, fields)
	if err != nil && !errors.Is(err, remember.ErrNotFound) {
		return remember.Token{}, errors.New("redisstore: get remember token: " + err.Error())
	}
	return t, err
}

// Rotate implements remember.Store in one script, so of parallel
// rotations exactly one wins.
func (r *RememberStore) Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	n, err := r.s.run(ctx, rememberRotateScript, r.s.layout.RememberKey(selector), redislayout.RememberRotateArgs(oldHash, newHash, graceUntil)).Int()
	switch {
	case err == redis.Nil:
		return remember.ErrNotFound
	case err != nil:
		return r.s.wrapErr(ctx, "rotate remember token", err)
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
	uid, err := r.s.run(ctx, rememberDeleteScript, r.s.layout.RememberKey(selector), redislayout.DeleteArgs(owner)).Text()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", r.s.wrapErr(ctx, "delete remember token", err)
	}
	return uid, nil
}

// unindex removes selectors from the set of userID.
func (r *RememberStore) unindex(ctx context.Context, userID string, selectors []string) error {
	members := make([]any, len(selectors))
	for i, sel := range selectors {
		members[i] = sel
	}
	if err := r.s.client.ZRem(ctx, r.s.layout.RememberUserKey(userID), members...).Err(); err != nil {
		return r.s.wrapErr(ctx, "unindex remember token", err)
	}
	return nil
}

// DeleteUser implements remember.Store: it deletes each token in the
// user's set that still belongs to the user, then the entries it read. A
// token created while it runs may survive it.
func (r *RememberStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	selectors, err := r.s.client.ZRange(ctx, r.s.layout.RememberUserKey(userID), 0, -1).Result()
	if err != nil {
		return 0, r.s.wrapErr(ctx, "delete remember tokens of user", err)
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
