package rueidisstore

import (
	"context"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit/redislayout"
)

// linker gives redislayout's LinkUser the commands it needs.
type linker struct{ s *Store }

func (k linker) ReadUser(ctx context.Context, userID string) (map[string]string, []string, error) {
	c := k.s.client
	// Both keys have the user's hash tag: one node, one round trip.
	res := c.DoMulti(ctx,
		c.B().Hgetall().Key(k.s.layout.LimitKey(userID)).Build(),
		c.B().Zrange().Key(k.s.layout.UserKey(userID)).Min("0").Max("-1").Build())
	limit, err := res[0].AsStrMap()
	if err != nil {
		return nil, nil, wrapErr(ctx, "link user", err)
	}
	index, err := res[1].AsStrSlice()
	if err != nil {
		return nil, nil, wrapErr(ctx, "link user", err)
	}
	return limit, index, nil
}

func (k linker) ReadSessions(ctx context.Context, ids []string) ([]redislayout.LinkRead, error) {
	c := k.s.client
	cmds := make(rueidis.Commands, len(ids))
	for i, id := range ids {
		cmds[i] = c.B().Hmget().Key(k.s.layout.SessionKey(id)).Field(redislayout.LinkFields...).Build()
	}
	reads := make([]redislayout.LinkRead, len(ids))
	for i, r := range c.DoMulti(ctx, cmds...) {
		v, err := r.ToArray()
		if err != nil {
			return nil, wrapErr(ctx, "link user", err)
		}
		str := func(j int) string {
			s, _ := v[j].ToString()
			return s
		}
		reads[i] = redislayout.LinkRead{Header: str(0), Times: str(1), Link: str(2), Found: !v[0].IsNil()}
	}
	return reads, nil
}

func (k linker) Eval(ctx context.Context, script string, keys, args []string) ([]string, error) {
	r, err := scripts[script].Exec(ctx, k.s.client, keys, args).AsStrSlice()
	if rueidis.IsRedisNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapErr(ctx, "link user", err)
	}
	return r, nil
}

func (k linker) ApplyIndex(ctx context.Context, id string, c redislayout.IndexChange) error {
	return k.s.applyIndex(ctx, id, c)
}
