package rueidisstore

import (
	"context"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/redislayout"
)

// users gives redislayout's ListByUser and DeleteByUser the commands they
// need.
type users struct{ s *Store }

func (u users) ReadIndex(ctx context.Context, userID string, now time.Time) ([]string, error) {
	c, key := u.s.client, u.s.layout.UserKey(userID)
	res := c.DoMulti(ctx,
		c.B().Zremrangebyscore().Key(key).Min("-inf").Max(redislayout.TrimMax(now)).Build(),
		c.B().Zrange().Key(key).Min("0").Max("-1").Build())
	if err := res[0].Error(); err != nil {
		return nil, wrapErr(ctx, "list by user", err)
	}
	ids, err := res[1].AsStrSlice()
	if err != nil {
		return nil, wrapErr(ctx, "list by user", err)
	}
	return ids, nil
}

func (u users) Records(ctx context.Context, ids []string) ([]*sessionkit.Record, error) {
	return u.s.records(ctx, ids)
}

func (u users) DeleteOwned(ctx context.Context, id, owner string) (bool, error) {
	err := u.s.run(ctx, deleteScript, u.s.layout.SessionKey(id), redislayout.DeleteArgs(owner)).Error()
	if rueidis.IsRedisNil(err) {
		return false, nil
	}
	if err != nil {
		return false, wrapErr(ctx, "delete by user", err)
	}
	return true, nil
}

func (u users) Index(ctx context.Context, userID string, args []string) error {
	return u.s.index(ctx, userID, args)
}

func (u users) Unindex(ctx context.Context, userID string, ids []string) error {
	return u.s.unindex(ctx, userID, ids...)
}

func (u users) DropIndex(ctx context.Context, userID string, ids []string) error {
	c := u.s.client
	if err := c.Do(ctx, c.B().Zrem().Key(u.s.layout.UserKey(userID)).Member(ids...).Build()).Error(); err != nil {
		return wrapErr(ctx, "unindex", err)
	}
	return nil
}
