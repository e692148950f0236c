package rueidisstore

import (
	"context"
	"errors"
	"strconv"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit/redislayout"
)

// RememberStore is a remember.Store that keeps remember-me tokens in
// Redis, beside the sessions of a Store and under its prefix, in the
// layout of package redislayout: the same keys as redisstore's
// RememberStore, so the two are interchangeable on the same data. Each
// token is a hash that expires at the token's ExpiresAt; Rotate is a
// script that compares and swaps the hash; each user has a sorted set of
// their tokens, which DeleteUser walks, so that it works on a Cluster. It
// is safe for concurrent use.
//
// It is redislayout.RememberTokens, the one implementation of the
// remember-me flows, which redisstore's RememberStore is too.
type RememberStore = redislayout.RememberTokens

// NewRememberStore returns a token store that uses the client and prefix
// of s. It does not contact the server.
func NewRememberStore(s *Store) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("rueidisstore: nil *Store")
	}
	return s.layout.RememberTokens(rememberClient{s}, "rueidisstore"), nil
}

// rememberClient gives redislayout's RememberTokens the commands it needs.
type rememberClient struct{ s *Store }

func (c rememberClient) Run(ctx context.Context, op, script, key string, args []string) (string, bool, error) {
	msg, err := c.s.run(ctx, scripts[script], key, args).ToMessage()
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
