package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/redislayout"
	"github.com/sessionkit/sessionkit/remember"
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
	tokens *redislayout.RememberTokens
}

var _ remember.Store = (*RememberStore)(nil)

// NewRememberStore returns a token store that uses the client and prefix
// of s. It does not contact the server.
func NewRememberStore(s *Store) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("redisstore: nil *Store")
	}
	return &RememberStore{tokens: s.layout.RememberTokens(rememberClient{s}, "redisstore")}, nil
}

// Create implements remember.Store. The user's set lists the token before
// the token exists, so that a DeleteUser running meanwhile finds it.
func (r *RememberStore) Create(ctx context.Context, t remember.Token) error {
	return r.tokens.Create(ctx, t)
}

// Get implements remember.Store. A token whose ExpiresAt has passed is not
// found: Redis has deleted it.
func (r *RememberStore) Get(ctx context.Context, selector string) (remember.Token, error) {
	return r.tokens.Get(ctx, selector)
}

// Rotate implements remember.Store in one script, so of parallel
// rotations exactly one wins.
func (r *RememberStore) Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	return r.tokens.Rotate(ctx, selector, oldHash, newHash, graceUntil)
}

// Delete implements remember.Store.
func (r *RememberStore) Delete(ctx context.Context, selector string) error {
	return r.tokens.Delete(ctx, selector)
}

// DeleteUser implements remember.Store: it deletes each token in the
// user's set that still belongs to the user, then the entries it read. A
// token created while it runs may survive it.
func (r *RememberStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	return r.tokens.DeleteUser(ctx, userID)
}

// DeleteExpired implements remember.Store. It has nothing to do: Redis
// deletes each token at its ExpiresAt, and a user's set drops the entries
// of expired tokens at the next write and expires with its last token.
func (r *RememberStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return r.tokens.DeleteExpired(ctx, now)
}

// The scripts that the remember-me flows run, by source.
var rememberScripts = map[string]*redis.Script{
	redislayout.IndexScript:          indexScript,
	redislayout.CreateScript:         createScript,
	redislayout.RememberRotateScript: redis.NewScript(redislayout.RememberRotateScript),
	redislayout.RememberDeleteScript: redis.NewScript(redislayout.RememberDeleteScript),
}

// rememberClient gives redislayout's RememberTokens the commands it needs.
type rememberClient struct{ s *Store }

func (c rememberClient) Run(ctx context.Context, op, script, key string, args []string) (string, bool, error) {
	reply, err := c.s.run(ctx, rememberScripts[script], key, args).Result()
	if err == redis.Nil {
		return "", false, nil
	}
	if err != nil {
		return "", false, c.s.wrapErr(ctx, op, err)
	}
	switch v := reply.(type) {
	case int64:
		return strconv.FormatInt(v, 10), true, nil
	case string:
		return v, true, nil
	}
	return "", false, fmt.Errorf("redisstore: %s: %w reply", op, redislayout.ErrMalformed)
}

func (c rememberClient) HGetAll(ctx context.Context, op, key string) (map[string]string, error) {
	fields, err := c.s.client.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, c.s.wrapErr(ctx, op, err)
	}
	return fields, nil
}

func (c rememberClient) ZRange(ctx context.Context, op, key string) ([]string, error) {
	members, err := c.s.client.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, c.s.wrapErr(ctx, op, err)
	}
	return members, nil
}

func (c rememberClient) ZRem(ctx context.Context, op, key string, members []string) error {
	list := make([]any, len(members))
	for i, m := range members {
		list[i] = m
	}
	if err := c.s.client.ZRem(ctx, key, list...).Err(); err != nil {
		return c.s.wrapErr(ctx, op, err)
	}
	return nil
}
