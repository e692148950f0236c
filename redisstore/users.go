package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/redislayout"
)

// users gives redislayout's ListByUser and DeleteByUser the commands they
// need.
type users struct{ s *Store }

func (u users) ReadIndex(ctx context.Context, userID string, now time.Time) ([]string, error) {
	key := u.s.layout.UserKey(userID)
	var ids *redis.StringSliceCmd
	_, err := u.s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, "-inf", redislayout.TrimMax(now))
		ids = p.ZRange(ctx, key, 0, -1)
		return nil
	})
	if err != nil {
		return nil, u.s.wrapErr(ctx, "list by user", err)
	}
	return ids.Val(), nil
}

func (u users) Records(ctx context.Context, ids []string) ([]*sessionkit.Record, error) {
	return u.s.records(ctx, ids)
}

func (u users) DeleteOwned(ctx context.Context, id, owner string) (bool, error) {
	err := u.s.run(ctx, deleteScript, u.s.layout.SessionKey(id), redislayout.DeleteArgs(owner)).Err()
	if err == redis.Nil {
		return false, nil
	}
	if err != nil {
		return false, u.s.wrapErr(ctx, "delete by user", err)
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
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	if err := u.s.client.ZRem(ctx, u.s.layout.UserKey(userID), members...).Err(); err != nil {
		return u.s.wrapErr(ctx, "unindex", err)
	}
	return nil
}
