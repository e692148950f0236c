package mongostore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sessionkit/sessionkit"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// LinkUser serializes the links of one user with a lease: a document in
// the lease collection (the session collection's name followed by
// "_leases") whose unique _id the server arbitrates. Inserting a document
// is the one write that every server applies atomically, multi-document
// transactions aside: FerretDB v1 evaluates the filter of an update or a
// delete apart from the write itself, so a conditional update cannot
// arbitrate there. Each lease of a user therefore has its own generation,
// and a link takes the user's lease by inserting the next generation:
//
//	{_id: "<generation>:<user ID>", uid: <user ID>, n: <generation>, until: <Date>, done: <bool>}
//
// Two instances that read the same latest generation race to insert the
// next one, and exactly one of them wins. The holder marks its lease done
// when it finishes; a lease that is neither done nor past its until is
// held, and the others wait for it.
const (
	// leaseDuration is how long a lease holds before another instance may
	// take the user's next generation: how long a crash between the steps
	// of a link can delay the user's next login.
	leaseDuration = 30 * time.Second
	// leaseWork is how long after taking a lease its holder may still
	// write: the steps of a link run under this deadline, so a holder stops
	// writing half a lease before anyone else may start. The other half is
	// the allowance for clocks that disagree between instances.
	leaseWork = leaseDuration / 2
	// leaseGarbage is how long after its until a lease document is
	// deleted: long enough that no instance can still be about to insert
	// the generation after it (see acquire).
	leaseGarbage = 2 * leaseDuration
	// leasePoll and leasePollMax are the first and the longest wait of a
	// link before it looks at a held lease again; each wait doubles the
	// last, so that many waiting links do not swamp the server.
	leasePoll    = 10 * time.Millisecond
	leasePollMax = 50 * time.Millisecond
	// leaseSuffix is appended to the collection name to name the lease
	// collection.
	leaseSuffix = "_leases"
)

var _ sessionkit.SessionLimiter = (*Store)(nil)

// lease is the stored form of a user's lease.
type lease struct {
	ID    string    `bson:"_id"`
	User  string    `bson:"uid"`
	N     int64     `bson:"n"`
	Until time.Time `bson:"until"`
	Done  bool      `bson:"done"`
}

// leaseID returns the _id of generation n of the lease of userID.
func leaseID(userID string, n int64) string {
	return strconv.FormatInt(n, 10) + ":" + userID
}

// createLeaseIndexes creates the index that finds a user's latest lease
// and, where the server has TTL indexes, one that deletes lease documents
// leaseGarbage after their until; elsewhere DeleteExpired deletes them.
func createLeaseIndexes(ctx context.Context, iv indexCreator, ttl bool) error {
	latest := mongo.IndexModel{
		Keys:    bson.D{{Key: "uid", Value: 1}, {Key: "n", Value: -1}},
		Options: options.Index().SetName("uid_1_n_-1"),
	}
	if _, err := iv.CreateOne(ctx, latest); err != nil {
		return wrap(ctx, "create lease index", err)
	}
	if !ttl {
		return nil
	}
	garbage := mongo.IndexModel{
		Keys:    bson.D{{Key: "until", Value: 1}},
		Options: options.Index().SetName("until_1").SetExpireAfterSeconds(int32(leaseGarbage / time.Second)),
	}
	if _, err := iv.CreateOne(ctx, garbage); err != nil {
		return wrap(ctx, "create lease TTL index", err)
	}
	return nil
}

// LinkUser implements sessionkit.SessionLimiter. It links the session id to
// userID while holding the user's lease, so that the links of one user,
// from every instance that shares the collection, run one at a time: it
// counts the user's other sessions whose exp is after now, refuses with
// sessionkit.ErrTooManySessions or deletes the oldest (by created, then _id)
// to make room, and sets uid. A crash between these steps leaves at most
// the evictions done, never more than max sessions, and the lease expires
// after 30 seconds.
//
// The lease assumes that the clocks of the instances agree within 15
// seconds: a holder stops writing 15 seconds after taking the lease, and
// the others take it over 30 seconds after.
func (s *Store) LinkUser(ctx context.Context, id, userID string, max int, evict bool, now time.Time) ([]string, error) {
	if userID == "" {
		return nil, errors.New("mongostore: link user: empty user ID")
	}
	if max < 1 {
		return nil, fmt.Errorf("mongostore: link user: limit %d is not positive", max)
	}
	deadline, release, err := s.acquire(ctx, userID)
	if err != nil {
		return nil, wrap(ctx, "link user", err)
	}
	defer release()
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	evicted, err := s.link(wctx, id, userID, max, evict, now)
	if err != nil && !errors.Is(err, sessionkit.ErrNotFound) && !errors.Is(err, sessionkit.ErrTooManySessions) {
		return nil, wrap(ctx, "link user", err)
	}
	return evicted, err
}

// link does the work of LinkUser under the user's lease.
func (s *Store) link(ctx context.Context, id, userID string, max int, evict bool, now time.Time) ([]string, error) {
	var d document
	err := s.coll.FindOne(ctx, byID(id), options.FindOne().SetProjection(bson.D{{Key: "exp", Value: 1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) || err == nil && !d.Exp.After(now) {
		return nil, sessionkit.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	filter := bson.D{
		{Key: "uid", Value: userID},
		{Key: "exp", Value: bson.D{{Key: "$gt", Value: now}}},
		{Key: "_id", Value: bson.D{{Key: "$ne", Value: id}}},
	}
	opts := options.Find().
		SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}).
		SetProjection(bson.D{{Key: "_id", Value: 1}})
	others, err := s.find(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	var evicted []string
	if len(others) >= max {
		if !evict {
			return nil, sessionkit.ErrTooManySessions
		}
		for _, o := range others[:len(others)-max+1] {
			evicted = append(evicted, o.ID)
		}
		del := bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: evicted}}}}
		if _, err := s.coll.DeleteMany(ctx, del); err != nil {
			return nil, err
		}
	}
	unlock, err := s.locks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	set := bson.D{{Key: "$set", Value: bson.D{{Key: "uid", Value: userID}}}}
	res, err := s.coll.UpdateOne(ctx, byID(id), set)
	if err != nil {
		return nil, err
	}
	if res.MatchedCount == 0 {
		return nil, sessionkit.ErrNotFound
	}
	return evicted, nil
}

// acquire takes the lease of userID, waiting while another link holds it.
// It returns the time until which the caller may write, and the function
// that gives the lease back.
//
// A lease is taken by inserting the generation after the latest one, which
// must be done or past its until. The insertion must not come long after
// the read it is based on: were the generation it inserts held, finished
// and deleted meanwhile, the insertion would succeed next to a newer
// holder. So acquire inserts within leaseWork of the read, and lease
// documents are deleted only leaseGarbage after their until.
func (s *Store) acquire(ctx context.Context, userID string) (deadline time.Time, release func(), err error) {
	poll := leasePoll
	for {
		read := time.Now()
		var cur lease
		err := s.leases.FindOne(ctx, bson.D{{Key: "uid", Value: userID}},
			options.FindOne().SetSort(bson.D{{Key: "n", Value: -1}})).Decode(&cur)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
		case err != nil:
			return time.Time{}, nil, err
		case !cur.Done && read.Before(cur.Until):
			if err := sleep(ctx, poll); err != nil {
				return time.Time{}, nil, err
			}
			poll = min(2*poll, leasePollMax)
			continue
		}
		if time.Since(read) >= leaseWork {
			continue
		}
		l := lease{ID: leaseID(userID, cur.N+1), User: userID, N: cur.N + 1, Until: read.Add(leaseDuration)}
		_, err = s.leases.InsertOne(ctx, l)
		if mongo.IsDuplicateKeyError(err) {
			continue // another link took this generation
		}
		if err != nil {
			return time.Time{}, nil, err
		}
		release = func() {
			// Give the lease back even when ctx has ended; when this
			// fails, the lease expires by itself.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaseWork)
			defer cancel()
			done := bson.D{{Key: "$set", Value: bson.D{{Key: "done", Value: true}}}}
			_, _ = s.leases.UpdateOne(rctx, byID(l.ID), done)
			old := bson.D{
				{Key: "uid", Value: userID},
				{Key: "n", Value: bson.D{{Key: "$lt", Value: l.N}}},
				{Key: "until", Value: bson.D{{Key: "$lt", Value: time.Now().Add(-leaseGarbage)}}},
			}
			_, _ = s.leases.DeleteMany(rctx, old)
		}
		return read.Add(leaseWork), release, nil
	}
}

// deleteOldLeases deletes the lease documents whose until passed
// leaseGarbage ago, those of users who have not logged in since.
func (s *Store) deleteOldLeases(ctx context.Context) error {
	old := bson.D{{Key: "until", Value: bson.D{{Key: "$lt", Value: time.Now().Add(-leaseGarbage)}}}}
	if _, err := s.leases.DeleteMany(ctx, old); err != nil {
		return wrap(ctx, "delete old leases", err)
	}
	return nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
