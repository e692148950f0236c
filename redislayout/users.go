package redislayout

import (
	"context"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit"
)

// UserClient is what ListByUser and DeleteByUser need of a store's Redis
// client. Its methods return errors already wrapped by the store
// (WrapError).
type UserClient interface {
	// ReadIndex removes the entries of userID's index that expired before
	// now (ZREMRANGEBYSCORE UserKey -inf TrimMax(now)) and returns the
	// others (ZRANGE UserKey 0 -1), in one round trip.
	ReadIndex(ctx context.Context, userID string, now time.Time) ([]string, error)
	// Records reads the sessions ids in one pipeline (HGETALL) and returns
	// their records at the same positions, nil for a key that holds no
	// session; expired records are returned as they are.
	Records(ctx context.Context, ids []string) ([]*sessionkit.Record, error)
	// DeleteOwned runs DeleteScript on session id with DeleteArgs(owner)
	// and reports whether it deleted the session.
	DeleteOwned(ctx context.Context, id, owner string) (bool, error)
	// Index runs IndexScript on userID's keys (UserKeys) with args.
	Index(ctx context.Context, userID string, args []string) error
	// Unindex runs UnindexScript on userID's keys with the arguments ids.
	Unindex(ctx context.Context, userID string, ids []string) error
	// DropIndex removes ids from userID's index only (ZREM UserKey).
	DropIndex(ctx context.Context, userID string, ids []string) error
}

// ListByUser implements sessionkit.UserIndex.ListByUser through c: the
// live sessions of userID, oldest first. It checks every entry of the
// user's index against the session itself and removes the entries whose
// session has expired, been deleted or moved to another user.
func ListByUser(ctx context.Context, c UserClient, userID string) ([]sessionkit.SessionInfo, error) {
	ids, err := c.ReadIndex(ctx, userID, time.Now())
	if err != nil {
		return nil, err
	}
	recs, err := c.Records(ctx, ids)
	if err != nil {
		return nil, err
	}
	list, stale := userSessions(userID, ids, recs, time.Now())
	if err := dropStale(ctx, c, userID, stale); err != nil {
		return nil, err
	}
	return list, nil
}

// DeleteByUser implements sessionkit.UserIndex.DeleteByUser through c: it
// deletes every session of userID except those in except and returns how
// many it deleted.
func DeleteByUser(ctx context.Context, c UserClient, userID string, except ...string) (int, error) {
	ids, err := c.ReadIndex(ctx, userID, time.Now())
	if err != nil {
		return 0, err
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(except, id) })
	if len(ids) == 0 {
		return 0, nil
	}
	var deleted, rest []string
	for _, id := range ids {
		// The script deletes the session only if it still belongs to
		// userID: the index may hold a session that moved to another user.
		ok, err := c.DeleteOwned(ctx, id, userID)
		if err != nil {
			return len(deleted), err
		}
		if ok {
			deleted = append(deleted, id)
		} else {
			rest = append(rest, id)
		}
	}
	if len(deleted) > 0 {
		if err := c.Unindex(ctx, userID, deleted); err != nil {
			return len(deleted), err
		}
	}
	if err := dropStale(ctx, c, userID, rest); err != nil {
		return len(deleted), err
	}
	return len(deleted), nil
}

// dropStale removes from the user's index the entries ids, found to have no
// live session of that user, then reads those sessions again and puts back
// the ones that are now live and the user's. A Create or Update that indexes
// the session before writing it may have raced with the first read; its
// second index update runs either before the removal, and then the session
// is already written when this function reads it again, or after, and then
// it restores the entry itself. Either way no live session is left out.
func dropStale(ctx context.Context, c UserClient, userID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	// Only the index: what this call read proves nothing about a link in
	// flight, which the limit hash keeps counted (see the package
	// documentation).
	if err := c.DropIndex(ctx, userID, ids); err != nil {
		return err
	}
	recs, err := c.Records(ctx, ids)
	if err != nil {
		return err
	}
	now := time.Now()
	for _, rec := range recs {
		if rec = Live(rec, now); rec != nil && rec.UserID == userID {
			args := CountArgs(now, IndexScore(rec.ExpiresAt, rec.AbsoluteExpiry), rec.ID, rec.CreatedAt)
			if err := c.Index(ctx, userID, args); err != nil {
				return err
			}
		}
	}
	return nil
}
