package mongostore

import (
	"context"
	"errors"
	"time"

	"github.com/sessionkit/sessionkit/cleanup"
	"github.com/sessionkit/sessionkit/remember"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// DefaultRememberCollection is the collection of remember-me tokens when
// RememberOptions.Collection is empty.
const DefaultRememberCollection = "remember_tokens"

// RememberOptions configures a RememberStore. The zero value is ready to
// use.
type RememberOptions struct {
	// Collection is the name of the tokens collection, in the database of
	// the Store. Default: DefaultRememberCollection.
	Collection string

	// CleanupInterval is how often expired tokens are deleted when the
	// server has no TTL index (see Store.TTLIndex). Zero means
	// DefaultCleanupInterval; a negative value disables the goroutine.
	CleanupInterval time.Duration
}

// RememberStore is a remember.Store that keeps remember-me tokens in
// MongoDB, beside the sessions, so that they survive a restart and are
// shared by every instance. Each token is a document; Rotate is an update
// conditional on the current hash, atomic on the one document, so of
// parallel rotations exactly one wins. Expired tokens are deleted by a TTL
// index where the server has one (within a minute of their expiry; the
// remember.Manager checks expiry itself), else by a background goroutine.
// It is safe for concurrent use.
type RememberStore struct {
	coll    *mongo.Collection
	cleanup *cleanup.Loop
	locks   *sessionLocks // serialize the rotations of a token, for FerretDB v1
}

var _ remember.Store = (*RememberStore)(nil)

// rememberDoc is the stored form of a remember.Token. Its uid and exp
// fields carry the same indexes as a session document's.
type rememberDoc struct {
	Selector  string    `bson:"_id"`
	UserID    string    `bson:"uid"`
	Hash      []byte    `bson:"h"`
	PrevHash  []byte    `bson:"p"`
	Grace     time.Time `bson:"g"`
	Created   time.Time `bson:"created"`
	Exp       time.Time `bson:"exp"`
	UserAgent string    `bson:"ua"`
}

// NewRememberStore returns a token store in the database of s. It creates
// the indexes of the collection (a TTL index if the server allows it).
// Close it when done.
func NewRememberStore(ctx context.Context, s *Store, opts RememberOptions) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("mongostore: nil *Store")
	}
	name := opts.Collection
	if name == "" {
		name = DefaultRememberCollection
	}
	r := &RememberStore{coll: s.coll.Database().Collection(name), locks: newSessionLocks()}
	ttl, err := createIndexes(ctx, collIndexes{r.coll}, 0)
	if err != nil {
		return nil, err
	}
	r.cleanup = startCleanup(ttl, opts.CleanupInterval, func(ctx context.Context) (int, error) {
		return r.DeleteExpired(ctx, time.Now())
	})
	return r, nil
}

// Close stops the clean-up goroutine and waits for it to return. It does
// not disconnect the client. Further calls do nothing.
func (r *RememberStore) Close() error {
	r.cleanup.Stop()
	return nil
}

// Create implements remember.Store.
func (r *RememberStore) Create(ctx context.Context, t remember.Token) error {
	_, err := r.coll.InsertOne(ctx, rememberDoc{
		Selector: t.Selector, UserID: t.UserID, Hash: t.Hash[:], PrevHash: t.PrevHash[:],
		Grace: t.GraceUntil, Created: t.CreatedAt, Exp: t.ExpiresAt, UserAgent: t.UserAgent,
	})
	switch {
	case err == nil:
		return nil
	case mongo.IsDuplicateKeyError(err):
		return remember.ErrExists
	}
	return wrap(ctx, "create remember token", err)
}

// Get implements remember.Store. Times come back in milliseconds, the
// precision of BSON dates.
func (r *RememberStore) Get(ctx context.Context, selector string) (remember.Token, error) {
	var d rememberDoc
	err := r.coll.FindOne(ctx, byID(selector)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return remember.Token{}, remember.ErrNotFound
	}
	if err != nil {
		return remember.Token{}, wrap(ctx, "get remember token", err)
	}
	t := remember.Token{Selector: d.Selector, UserID: d.UserID, GraceUntil: d.Grace, CreatedAt: d.Created, ExpiresAt: d.Exp, UserAgent: d.UserAgent}
	if len(d.Hash) != len(t.Hash) || len(d.PrevHash) != len(t.PrevHash) {
		return remember.Token{}, errors.New("mongostore: get remember token: malformed hash field")
	}
	copy(t.Hash[:], d.Hash)
	copy(t.PrevHash[:], d.PrevHash)
	return t, nil
}

// Rotate implements remember.Store with an update conditional on the
// current hash. MongoDB applies it atomically; FerretDB v1 reads and then
// writes the document, so rotations of one token are also serialized
// within the process.
func (r *RememberStore) Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	unlock, err := r.locks.lock(ctx, selector)
	if err != nil {
		return wrap(ctx, "rotate remember token", err)
	}
	defer unlock()
	res, err := r.coll.UpdateOne(ctx,
		bson.D{{Key: "_id", Value: selector}, {Key: "h", Value: oldHash[:]}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "h", Value: newHash[:]}, {Key: "p", Value: oldHash[:]}, {Key: "g", Value: graceUntil}}}})
	if err != nil {
		return wrap(ctx, "rotate remember token", err)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	n, err := r.coll.CountDocuments(ctx, byID(selector))
	switch {
	case err != nil:
		return wrap(ctx, "rotate remember token", err)
	case n == 0:
		return remember.ErrNotFound
	}
	return remember.ErrConflict
}

// Delete implements remember.Store.
func (r *RememberStore) Delete(ctx context.Context, selector string) error {
	if _, err := r.coll.DeleteOne(ctx, byID(selector)); err != nil {
		return wrap(ctx, "delete remember token", err)
	}
	return nil
}

// DeleteUser implements remember.Store.
func (r *RememberStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	return r.deleteMany(ctx, "delete remember tokens of user", bson.D{{Key: "uid", Value: userID}})
}

// DeleteExpired implements remember.Store. The clean-up goroutine calls it
// with time.Now when the server has no TTL index.
func (r *RememberStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	return r.deleteMany(ctx, "delete expired remember tokens", bson.D{{Key: "exp", Value: bson.D{{Key: "$lte", Value: now}}}})
}

func (r *RememberStore) deleteMany(ctx context.Context, op string, filter bson.D) (int, error) {
	res, err := r.coll.DeleteMany(ctx, filter)
	if err != nil {
		return 0, wrap(ctx, op, err)
	}
	return int(res.DeletedCount), nil
}
