package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/redislayout"
)

// linker gives redislayout's LinkUser the commands it needs.
type linker struct{ s *Store }

func (k linker) ReadUser(ctx context.Context, userID string) (map[string]string, []string, error) {
	var (
		limit *redis.MapStringStringCmd
		index *redis.StringSliceCmd
	)
	// Both keys have the user's hash tag: one node, one round trip.
	_, err := k.s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		limit = p.HGetAll(ctx, k.s.layout.LimitKey(userID))
		index = p.ZRange(ctx, k.s.layout.UserKey(userID), 0, -1)
		return nil
	})
	if err != nil {
		return nil, nil, k.s.wrapErr(ctx, "link user", err)
	}
	return limit.Val(), index.Val(), nil
}

func (k linker) ReadSessions(ctx context.Context, ids []string) ([]redislayout.LinkRead, error) {
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err := k.s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, k.s.layout.SessionKey(id), redislayout.LinkFields...)
		}
		return nil
	})
	if err != nil {
		return nil, k.s.wrapErr(ctx, "link user", err)
	}
	reads := make([]redislayout.LinkRead, len(ids))
	for i, c := range cmds {
		v := c.Val()
		str := func(j int) string {
			s, _ := v[j].(string)
			return s
		}
		reads[i] = redislayout.LinkRead{Header: str(0), Times: str(1), Link: str(2), Found: v[0] != nil}
	}
	return reads, nil
}

func (k linker) Eval(ctx context.Context, script string, keys, args []string) ([]string, error) {
	r, err := k.s.runKeys(ctx, scripts[script], keys, args).StringSlice()
	if err == redis.Nil {
		return nil, nil
	}
	if err != nil {
		return nil, k.s.wrapErr(ctx, "link user", err)
	}
	return r, nil
}

func (k linker) ApplyIndex(ctx context.Context, id string, c redislayout.IndexChange) error {
	return k.s.applyIndex(ctx, id, c)
}
