package mongostore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// IterateRecords and CreateMany move many sessions at once, for tools
// that copy a whole store (sessionctl's export and import). A Load or a
// Create per session costs a round trip each, and on FerretDB v1 a Load
// scans the whole collection: exporting n sessions by Load reads n²
// documents. IterateRecords reads every document with one query and
// CreateMany inserts a thousand per command.

// insertBatch is how many documents one insert command of CreateMany
// carries.
const insertBatch = 1000

// IterateRecords calls yield with every session of the collection,
// complete with its values and whatever its expiry, until yield returns
// false. The records come in no particular order, from one query; a
// session created, changed or deleted during the iteration may be seen
// either way. Each record equals what Load returns for its ID.
func (s *Store) IterateRecords(ctx context.Context, yield func(*sessionkit.Record) bool) error {
	cur, err := s.coll.Find(ctx, bson.D{}, options.Find().SetBatchSize(insertBatch))
	if err != nil {
		return wrap(ctx, "iterate records", err)
	}
	defer closeQuery(cur)
	for cur.Next(ctx) {
		var d document
		if err := cur.Decode(&d); err != nil {
			return wrap(ctx, "iterate records", err)
		}
		rec, err := d.record()
		if err != nil {
			return fmt.Errorf("mongostore: iterate records: %w", err)
		}
		if !yield(rec) {
			return nil
		}
	}
	if err := cur.Err(); err != nil {
		return wrap(ctx, "iterate records", err)
	}
	return nil
}

// CreateMany creates each record of recs as Create would, with one insert
// command per thousand records. It returns the indexes in recs, in
// increasing order, of the records it did not create because a live
// session has their ID (where Create returns sessionkit.ErrExists); a
// record whose ID belongs to an expired session replaces it, as with
// Create. The IDs within recs must differ. On any other failure it returns
// an error, and the records of recs may have been created in part.
func (s *Store) CreateMany(ctx context.Context, recs []*sessionkit.Record) (existing []int, err error) {
	for start := 0; start < len(recs); start += insertBatch {
		batch := recs[start:min(start+insertBatch, len(recs))]
		docs := make([]*document, len(batch))
		for i, r := range batch {
			docs[i] = toDocument(r)
		}
		_, err := s.coll.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		taken, err := duplicates(err)
		if err != nil {
			return nil, wrap(ctx, "create many", err)
		}
		if len(taken) == 0 {
			continue
		}
		expired, err := s.expiredOf(ctx, docs, taken)
		if err != nil {
			return nil, err
		}
		for _, i := range taken {
			err := sessionkit.ErrExists
			if expired[docs[i].ID] {
				err = s.createOver(ctx, docs[i])
			}
			switch {
			case errors.Is(err, sessionkit.ErrExists):
				existing = append(existing, start+i)
			case err != nil:
				return nil, err
			}
		}
	}
	return existing, nil
}

// expiredOf returns the IDs, among those of docs[i] for i in taken, of the
// sessions that have expired by this process's clock, with one query: on
// FerretDB a query per ID would scan the collection for each. A live
// session's ID is taken (Create's ErrExists); so is the ID of a session
// deleted since the insert, as Create finds no expired session to replace.
func (s *Store) expiredOf(ctx context.Context, docs []*document, taken []int) (map[string]bool, error) {
	ids := make([]string, len(taken))
	for j, i := range taken {
		ids[j] = docs[i].ID
	}
	filter := bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}},
		{Key: "exp", Value: bson.D{{Key: "$lte", Value: time.Now()}}},
	}
	cur, err := s.coll.Find(ctx, filter, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, wrap(ctx, "create many", err)
	}
	defer closeQuery(cur)
	expired := make(map[string]bool)
	for cur.Next(ctx) {
		var d struct {
			ID string `bson:"_id"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, wrap(ctx, "create many", err)
		}
		expired[d.ID] = true
	}
	if err := cur.Err(); err != nil {
		return nil, wrap(ctx, "create many", err)
	}
	return expired, nil
}

// duplicates returns the indexes of the documents that an unordered
// insert did not write because their _id was taken, or err when it
// failed otherwise.
func duplicates(err error) ([]int, error) {
	if err == nil {
		return nil, nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return nil, err
	}
	taken := make([]int, 0, len(bwe.WriteErrors))
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we.WriteError) {
			return nil, err
		}
		taken = append(taken, we.Index)
	}
	slices.Sort(taken)
	return taken, nil
}
