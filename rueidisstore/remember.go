package rueidisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit/redislayout"
	"github.com/sessionkit/sessionkit/remember"
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
	tokens *redislayout.RememberTokens
}

var _ remember.Store = (*RememberStore)(nil)

// NewRememberStore returns a token store that uses the client and prefix
// of s. It does not contact the server.
func NewRememberStore(s *Store) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("rueidisstore: nil *Store")
	}
	return &RememberStore{tokens: s.layout.RememberTokens(rememberClient{s}, "rueidisstore")}, nil
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
var rememberScripts = map[string]*rueidis.Lua{
	redislayout.IndexScript:          indexScript,
	redislayout.CreateScript:         createScript,
	redislayout.RememberRotateScript: rueidis.NewLuaScript(redislayout.RememberRotateScript),
	redislayout.RememberDeleteScript: rueidis.NewLuaScript(redislayout.RememberDeleteScript),
}

// rememberClient gives redislayout's RememberTokens the commands it needs.
type rememberClient struct{ s *Store }

func (c rememberClient) Run(ctx context.Context, op, script, key string, args []string) (string, bool, error) {
	msg, err := c.s.run(ctx, rememberScripts[script], key, args).ToMessage()
	if rueidis.IsRedisNil(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrapErr(ctx, op, err)
	}
	if msg.IsInt64() {
		n, _ := msg.ToInt64()
		return strconv.FormatInt(n, 10), true, nil
	}
	s, err := msg.ToString()
	if err != nil {
		return "", false, wrapErr(ctx, op, err)
	}
	return s, true, nil
}

func (c rememberClient) HGetAll(ctx context.Context, op, key string) (map[string]string, error) {
	cl := c.s.client
	fields, err := cl.Do(ctx, cl.B().Hgetall().Key(key).Build()).AsStrMap()
	if err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	return fields, nil
}

func (c rememberClient) ZRange(ctx context.Context, op, key string) ([]string, error) {
	cl := c.s.client
	members, err := cl.Do(ctx, cl.B().Zrange().Key(key).Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		return nil, wrapErr(ctx, op, err)
	}
	return members, nil
}

func (c rememberClient) ZRem(ctx context.Context, op, key string, members []string) error {
	cl := c.s.client
	if err := cl.Do(ctx, cl.B().Zrem().Key(key).Member(members...).Build()).Error(); err != nil {
		return wrapErr(ctx, op, err)
	}
	return nil
}
