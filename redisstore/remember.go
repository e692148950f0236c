package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/redislayout"
)

// RememberStore is a remember.Store that keeps remember-me tokens in
// Redis, beside the sessions of a Store and under its prefix, so that they
// survive a restart and are shared by every instance. Each token is a hash
// that expires at the token's ExpiresAt; Rotate is a script that compares
// and swaps the hash; each user has a sorted set of their tokens, which
// DeleteUser walks, so that it works on a Cluster, where the tokens of a
// user lie in many hash slots. See the README for the keys. It is safe for
// concurrent use.
//
// It is redislayout.RememberTokens, the one implementation of the
// remember-me flows, which rueidisstore's RememberStore is too.
type RememberStore = redislayout.RememberTokens

// NewRememberStore returns a token store that uses the client and prefix
// of s. It does not contact the server.
func NewRememberStore(s *Store) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("redisstore: nil *Store")
	}
	return s.layout.RememberTokens(rememberClient{s}, "redisstore"), nil
}

// rememberClient gives redislayout's RememberTokens the commands it needs.
type rememberClient struct{ s *Store }

func (c rememberClient) Run(ctx context.Context, op, script, key string, args []string) (string, bool, error) {
	reply, err := c.s.run(ctx, scripts[script], key, args).Result()
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
