// Package mongostore is a sessionkit.Store that keeps sessions in a MongoDB
// collection, one document per session, using the official Go driver
// (go.mongodb.org/mongo-driver/v2).
//
// A session is stored as
//
//	{
//		_id:     <ID>,            // the store key (a hash of the token)
//		uid:     <user ID>,       // absent for anonymous sessions
//		created: <Date>,
//		last:    <Date>,
//		exp:     <Date>,          // ExpiresAt
//		abs:     <Date>,          // AbsoluteExpiry
//		persist: <bool>,
//		meta:    {<key>: <string>, ...},
//		v:       {<encoded key>: <Binary>, ...},
//	}
//
// Value keys are arbitrary strings, but MongoDB field names must not contain
// "." or start with "$", so each key is stored as "k" followed by its
// unpadded base64url encoding: the key "a.b" becomes the field "kYS5i".
// Saves change only the fields of the keys that a request changed, with
// $set and $unset, so overlapping requests that change different keys both
// survive. Within one Store, the writes to one session are also serialized,
// which keeps servers that do not update documents atomically (FerretDB v1)
// from losing keys when the requests of one process overlap.
//
// New creates an index on uid for the per-user index and a TTL index on exp
// so that the server deletes expired sessions, Options.KeepExpired after
// their expiry. Servers that refuse TTL indexes (FerretDB v1, for example)
// get an ordinary index on exp instead, and the Store deletes expired
// sessions itself every Options.CleanupInterval, with the same retention.
// Either way this is garbage collection only: the Store has no clock, and
// reads return a session whatever its expiry, since the manager decides by
// its own clock whether a session is alive. The retention lets
// Manager.Sweep find an expired session through Iterate, remove it and
// report its expiry.
//
// Remove (sessionkit.Remover) reports whether the call deleted the
// session, from the server's count of deleted documents, so that of
// several instances ending one session only one reports its end.
//
// LinkUser (sessionkit.SessionLimiter) holds a user to a number of
// sessions atomically across instances without multi-document
// transactions: the links of one user take turns through a lease, a
// document with a unique _id in a second collection (the session
// collection's name followed by "_leases"). A crashed holder's lease
// expires after 30 seconds. See limit.go and the README for the protocol.
//
// The caller owns the *mongo.Client: the Store never connects or
// disconnects it, and Close only stops the Store's own clean-up. Operations
// on an unreachable server fail with errors that wrap
// sessionkit.ErrUnavailable; the driver reconnects by itself when the server
// comes back. A canceled context or a passed deadline is the caller's doing:
// those errors wrap context.Canceled or context.DeadlineExceeded and never
// sessionkit.ErrUnavailable. Set a short server selection timeout on the client
// (options.Client().SetServerSelectionTimeout) so that requests fail fast
// while the server is down.
package mongostore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cleanup"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"
)

// Default values for Options.
const (
	// DefaultCollection is the collection a Store uses when
	// Options.Collection is empty.
	DefaultCollection = "sessions"
	// DefaultCleanupInterval is how often a Store deletes expired sessions
	// itself, on servers without TTL indexes, when Options.CleanupInterval
	// is zero.
	DefaultCleanupInterval = time.Minute
)

// expIndex is the name of the index on exp, a TTL index where the server
// has them.
const expIndex = "exp_1"

const (
	// defaultPageSize is the page size of Iterate when limit is not
	// positive.
	defaultPageSize = 100
	// cleanupTimeout bounds one run of the clean-up goroutine.
	cleanupTimeout = 10 * time.Second
)

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Collection names the collection that holds the sessions. The default
	// is DefaultCollection ("sessions").
	Collection string

	// CleanupInterval is how often the Store deletes expired sessions itself
	// when the server does not support TTL indexes. Zero means
	// DefaultCleanupInterval (one minute); a negative value turns the
	// clean-up off, for callers that run DeleteExpired themselves. It has no
	// effect when the server deletes expired sessions through a TTL index.
	CleanupInterval time.Duration

	// KeepExpired is how long an expired session stays in the collection
	// before the TTL index or the clean-up deletes it, so that
	// Manager.Sweep can still find it and report its expiry. Zero means
	// sessionkit.DefaultKeepExpired (5 minutes); a negative value means no
	// retention: a session may be deleted as soon as it expires. The TTL
	// index holds it in whole seconds (expireAfterSeconds, rounded up).
	// New changes an existing index to it with collMod, and fails with an
	// error that says so when the server refuses; every instance that
	// shares the collection should use the same value. Run Manager.Sweep
	// more often than this.
	KeepExpired time.Duration
}

// Store is a sessionkit.Store backed by a MongoDB collection. It also
// implements sessionkit.UserIndex, sessionkit.Iterator and
// sessionkit.SessionLimiter, and reads and creates many sessions at once
// with IterateRecords and CreateMany. It is safe for concurrent use.
type Store struct {
	coll   *mongo.Collection
	leases *mongo.Collection // the users' leases of LinkUser (see limit.go)
	ttl    bool
	keep   time.Duration // how long an expired session is kept

	cleanup *cleanup.Loop // deletes expired sessions where the server has no TTL index

	// locks serialize the writes to one session that read and modify a
	// document (Create over an expired document, Update, Touch) within
	// this Store. MongoDB applies each update to a document atomically and
	// needs no help, but FerretDB v1 reads, modifies and writes documents
	// without isolation, so two concurrent updates of different fields of
	// one document can lose one of them. Each lock is a channel with room
	// for one token, so that waiting for it honours the context.
	locks *sessionLocks

	queries openQueries // Iterate's queries, open between pages (see iterate.go)
}

var (
	_ sessionkit.Store     = (*Store)(nil)
	_ sessionkit.UserIndex = (*Store)(nil)
	_ sessionkit.Iterator  = (*Store)(nil)
	_ sessionkit.Remover   = (*Store)(nil)
)

// New returns a Store that keeps sessions in a collection of db. It creates
// the Store's indexes if they do not exist yet, so ctx should allow for a
// round trip to the server; when the server refuses TTL indexes, it starts
// a goroutine that deletes expired sessions, which Close stops.
func New(ctx context.Context, db *mongo.Database, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("mongostore: nil database")
	}
	name := opts.Collection
	if name == "" {
		name = DefaultCollection
	}
	s := &Store{
		coll: db.Collection(name), leases: db.Collection(name + leaseSuffix),
		keep: cleanup.KeepExpired(opts.KeepExpired), locks: newSessionLocks(),
	}
	ttl, err := createIndexes(ctx, collIndexes{s.coll}, s.keep)
	if err != nil {
		return nil, err
	}
	s.ttl = ttl
	if err := createLeaseIndexes(ctx, s.leases.Indexes(), ttl); err != nil {
		return nil, err
	}
	s.cleanup = startCleanup(ttl, opts.CleanupInterval, s.DeleteExpired)
	return s, nil
}

// startCleanup starts the goroutine that calls deleteExpired every
// interval (zero means DefaultCleanupInterval), unless the collection has
// a TTL index: then the server deletes expired documents itself.
func startCleanup(ttl bool, interval time.Duration, deleteExpired func(context.Context) (int, error)) *cleanup.Loop {
	if interval == 0 {
		interval = DefaultCleanupInterval
	}
	if ttl {
		interval = -1
	}
	return cleanup.Start(interval, cleanupTimeout, func(ctx context.Context) error {
		_, err := deleteExpired(ctx)
		return err
	}, nil) // a failure is retried at the next pass
}

// indexCreator is the part of mongo.IndexView that createLeaseIndexes
// uses.
type indexCreator interface {
	CreateOne(ctx context.Context, model mongo.IndexModel, opts ...options.Lister[options.CreateIndexesOptions]) (string, error)
}

// indexes is what createIndexes needs of a collection: to create indexes,
// and to change the expireAfterSeconds of an existing one.
type indexes interface {
	indexCreator
	SetExpireAfter(ctx context.Context, index string, seconds int32) error
}

// collIndexes implements indexes for a collection.
type collIndexes struct{ coll *mongo.Collection }

func (c collIndexes) CreateOne(ctx context.Context, model mongo.IndexModel, opts ...options.Lister[options.CreateIndexesOptions]) (string, error) {
	return c.coll.Indexes().CreateOne(ctx, model, opts...)
}

// SetExpireAfter runs collMod, which makes index a TTL index with the
// given expireAfterSeconds (MongoDB 5.1 and later also turn an ordinary
// single-field index into one).
func (c collIndexes) SetExpireAfter(ctx context.Context, index string, seconds int32) error {
	return c.coll.Database().RunCommand(ctx, bson.D{
		{Key: "collMod", Value: c.coll.Name()},
		{Key: "index", Value: bson.D{{Key: "name", Value: index}, {Key: "expireAfterSeconds", Value: seconds}}},
	}).Err()
}

// createIndexes creates the uid index and an index on exp: a TTL index
// that deletes a document keep after its exp if the server accepts one, an
// ordinary index otherwise. It reports whether the TTL index exists.
// Creating an index that already exists is a no-op, so it is safe at every
// start-up. When an exp index exists with other options (another
// expireAfterSeconds, from an earlier version or another KeepExpired, or
// no TTL), the server answers IndexOptionsConflict and createIndexes sets
// the TTL with collMod; where that is refused too, the index stays an
// ordinary one.
func createIndexes(ctx context.Context, iv indexes, keep time.Duration) (ttl bool, err error) {
	uid := mongo.IndexModel{
		Keys:    bson.D{{Key: "uid", Value: 1}},
		Options: options.Index().SetName("uid_1"),
	}
	if _, err := iv.CreateOne(ctx, uid); err != nil {
		return false, wrap(ctx, "create uid index", err)
	}
	after := expireAfterSeconds(keep)
	exp := mongo.IndexModel{
		Keys:    bson.D{{Key: "exp", Value: 1}},
		Options: options.Index().SetName(expIndex).SetExpireAfterSeconds(after),
	}
	_, err = iv.CreateOne(ctx, exp)
	if err == nil {
		return true, nil
	}
	if !refused(err) {
		return false, wrap(ctx, "create TTL index", err)
	}
	var collModErr error
	if optionsConflict(err) {
		collModErr = iv.SetExpireAfter(ctx, expIndex, after)
		if collModErr == nil {
			return true, nil
		}
		if !refused(collModErr) {
			return false, wrap(ctx, "change TTL index", collModErr)
		}
	}
	exp.Options = options.Index().SetName(expIndex)
	_, err = iv.CreateOne(ctx, exp)
	switch {
	case err == nil:
		return false, nil
	case collModErr != nil && optionsConflict(err):
		// exp_1 is a TTL index with another expireAfterSeconds, which
		// the server did not let us change.
		return false, fmt.Errorf("mongostore: the index %s exists with an expireAfterSeconds other than %d (KeepExpired) and collMod was refused (%w): grant the collMod action on the collection, drop the index, or set KeepExpired to its expireAfterSeconds", expIndex, after, collModErr)
	}
	return false, wrap(ctx, "create exp index", err)
}

// expireAfterSeconds returns keep in whole seconds, rounded up, as a TTL
// index holds it.
func expireAfterSeconds(keep time.Duration) int32 {
	if keep <= 0 {
		return 0
	}
	s := keep / time.Second
	if keep%time.Second != 0 {
		s++
	}
	return int32(min(s, math.MaxInt32))
}

// optionsConflict reports whether err is MongoDB's IndexOptionsConflict
// (code 85): an index of that name exists with other options.
func optionsConflict(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(85)
}

// refused reports whether err is the server's refusal of a command, as
// opposed to a failure to reach the server. FerretDB v1 answers a TTL index
// with NotImplemented (code 238); other servers answer CommandNotSupported,
// CannotCreateIndex or a conflict with an existing exp index.
func refused(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && !unavailable(err)
}

// TTLIndex reports whether the server deletes expired sessions through a TTL
// index. When it is false the Store deletes them itself every
// Options.CleanupInterval.
func (s *Store) TTLIndex() bool { return s.ttl }

// Close stops the Store's clean-up goroutine and waits for it to return,
// and closes the queries that Iterate keeps open between pages. It does
// not disconnect the client. Close is idempotent and always returns nil.
func (s *Store) Close() error {
	s.cleanup.Stop()
	s.queries.closeAll()
	return nil
}

// DeleteExpired deletes the sessions that expired at least
// Options.KeepExpired ago by this process's clock (time.Now) and returns
// how many it deleted; it also deletes the finished leases of LinkUser,
// which it does not count. The Store calls it every
// Options.CleanupInterval when the server has no TTL index; callers that
// turn that off can call it on their own schedule.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	before := time.Now().Add(-s.keep)
	res, err := s.coll.DeleteMany(ctx, bson.D{{Key: "exp", Value: bson.D{{Key: "$lte", Value: before}}}})
	if err != nil {
		return 0, wrap(ctx, "delete expired", err)
	}
	if err := s.deleteOldLeases(ctx); err != nil {
		return int(res.DeletedCount), err
	}
	return int(res.DeletedCount), nil
}

// document is the stored form of a sessionkit.Record.
type document struct {
	ID      string            `bson:"_id"`
	UserID  string            `bson:"uid,omitempty"`
	Created time.Time         `bson:"created"`
	Last    time.Time         `bson:"last"`
	Exp     time.Time         `bson:"exp"`
	Abs     time.Time         `bson:"abs"`
	Persist bool              `bson:"persist"`
	Meta    map[string]string `bson:"meta,omitempty"`
	Values  map[string][]byte `bson:"v"`
}

// infoProjection leaves out the values, which listings do not need.
var infoProjection = bson.D{{Key: "v", Value: 0}}

// valueField returns the field name, inside "v", of the value key k.
func valueField(k string) string {
	return "k" + base64.RawURLEncoding.EncodeToString([]byte(k))
}

// valueKey reverses valueField.
func valueKey(field string) (string, error) {
	enc, ok := strings.CutPrefix(field, "k")
	if !ok {
		return "", fmt.Errorf("mongostore: malformed value field %q", field)
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("mongostore: malformed value field %q: %v", field, err)
	}
	return string(b), nil
}

// binary returns v as stored: a nil slice is stored as empty binary data
// rather than null.
func binary(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

func toDocument(rec *sessionkit.Record) *document {
	d := &document{
		ID:      rec.ID,
		UserID:  rec.UserID,
		Created: rec.CreatedAt,
		Last:    rec.LastSeen,
		Exp:     rec.ExpiresAt,
		Abs:     rec.AbsoluteExpiry,
		Persist: rec.Persistent,
		Meta:    rec.Meta,
		Values:  make(map[string][]byte, len(rec.Values)),
	}
	for k, v := range rec.Values {
		d.Values[valueField(k)] = binary(v)
	}
	return d
}

func (d *document) record() (*sessionkit.Record, error) {
	rec := &sessionkit.Record{
		ID:             d.ID,
		UserID:         d.UserID,
		Values:         make(map[string][]byte, len(d.Values)),
		CreatedAt:      d.Created,
		LastSeen:       d.Last,
		ExpiresAt:      d.Exp,
		AbsoluteExpiry: d.Abs,
		Persistent:     d.Persist,
		Meta:           d.Meta,
	}
	for f, v := range d.Values {
		k, err := valueKey(f)
		if err != nil {
			return nil, err
		}
		rec.Values[k] = v
	}
	return rec, nil
}

func (d *document) info() sessionkit.SessionInfo {
	return sessionkit.SessionInfo{
		ID:         d.ID,
		UserID:     d.UserID,
		CreatedAt:  d.Created,
		LastSeen:   d.Last,
		ExpiresAt:  d.Exp,
		Persistent: d.Persist,
		Meta:       d.Meta,
	}
}

// sessionLocks serialize, within one store, the writes to a session that
// read its document and then modify it: one lock per session ID, spread
// over a fixed set of channels.
type sessionLocks struct {
	seed  maphash.Seed
	locks [64]chan struct{}
}

func newSessionLocks() *sessionLocks {
	l := &sessionLocks{seed: maphash.MakeSeed()}
	for i := range l.locks {
		l.locks[i] = make(chan struct{}, 1)
	}
	return l
}

// lock takes the lock of the session id and returns the function that
// releases it, or the context's error if the context ends first.
func (l *sessionLocks) lock(ctx context.Context, id string) (unlock func(), err error) {
	c := l.locks[maphash.String(l.seed, id)%uint64(len(l.locks))]
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// replaceExpired replaces the document of session id with doc if the
// document's expiry field has passed by this process's clock. Create calls it when the ID
// is taken; it returns sessionkit.ErrExists when that session is live.
func replaceExpired(ctx context.Context, coll *mongo.Collection, id, field string, doc any) error {
	expired := bson.D{{Key: "_id", Value: id}, {Key: field, Value: bson.D{{Key: "$lte", Value: time.Now()}}}}
	res, err := coll.ReplaceOne(ctx, expired, doc)
	if err != nil {
		return wrap(ctx, "create", err)
	}
	if res.MatchedCount == 0 {
		return sessionkit.ErrExists
	}
	return nil
}

// byID returns a filter that matches the session id. Filters that name only
// _id matter for FerretDB, which looks a document up by its key only for
// such a filter and scans the whole collection otherwise.
func byID(id string) bson.D {
	return bson.D{{Key: "_id", Value: id}}
}

// Load implements sessionkit.Store. It returns (nil, nil) when no session
// has the ID, and the session whatever its expiry otherwise.
func (s *Store) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	var d document
	err := s.coll.FindOne(ctx, byID(id)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap(ctx, "load", err)
	}
	return d.record()
}

// Create implements sessionkit.Store. It inserts a new document and returns
// sessionkit.ErrExists when a session has the same ID, unless its expiry
// has passed by this process's clock: such a document, not deleted yet, is
// replaced.
func (s *Store) Create(ctx context.Context, rec *sessionkit.Record) error {
	d := toDocument(rec)
	_, err := s.coll.InsertOne(ctx, d)
	if err == nil {
		return nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return wrap(ctx, "create", err)
	}
	return s.createOver(ctx, d)
}

// createOver stores d in place of the document that has its ID, when
// that session has expired, and returns sessionkit.ErrExists when it is
// live. Create and CreateMany call it when the insert of d found its ID
// taken.
func (s *Store) createOver(ctx context.Context, d *document) error {
	unlock, err := s.locks.lock(ctx, d.ID)
	if err != nil {
		return wrap(ctx, "create", err)
	}
	defer unlock()
	return replaceExpired(ctx, s.coll, d.ID, "exp", d)
}

// Update implements sessionkit.Store. It changes only the fields that d
// names, in a single update, and returns sessionkit.ErrNotFound when the
// session does not exist. It never creates a document.
func (s *Store) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	set := bson.D{{Key: "last", Value: d.LastSeen}, {Key: "exp", Value: d.ExpiresAt}}
	var unset bson.D
	if !d.AbsoluteExpiry.IsZero() {
		set = append(set, bson.E{Key: "abs", Value: d.AbsoluteExpiry})
	}
	if d.Persistent != nil {
		set = append(set, bson.E{Key: "persist", Value: *d.Persistent})
	}
	if d.UserID != nil {
		if *d.UserID == "" {
			unset = append(unset, bson.E{Key: "uid", Value: ""})
		} else {
			set = append(set, bson.E{Key: "uid", Value: *d.UserID})
		}
	}

	// Delta.Apply applies Set before Del, so a key in both ends up deleted.
	del := make(map[string]bool, len(d.Del))
	for _, k := range d.Del {
		del[k] = true
	}
	if d.Clear {
		v := bson.D{}
		for k, val := range d.Set {
			if !del[k] {
				v = append(v, bson.E{Key: valueField(k), Value: binary(val)})
			}
		}
		set = append(set, bson.E{Key: "v", Value: v})
	} else {
		for k, val := range d.Set {
			if !del[k] {
				set = append(set, bson.E{Key: "v." + valueField(k), Value: binary(val)})
			}
		}
		for k := range del {
			unset = append(unset, bson.E{Key: "v." + valueField(k), Value: ""})
		}
	}

	update := bson.D{{Key: "$set", Value: set}}
	if len(unset) > 0 {
		update = append(update, bson.E{Key: "$unset", Value: unset})
	}
	unlock, err := s.locks.lock(ctx, id)
	if err != nil {
		return wrap(ctx, "update", err)
	}
	defer unlock()
	res, err := s.coll.UpdateOne(ctx, byID(id), update)
	if err != nil {
		return wrap(ctx, "update", err)
	}
	if res.MatchedCount == 0 {
		return sessionkit.ErrNotFound
	}
	return nil
}

// Touch implements sessionkit.Store. It sets only last and exp, and returns
// sessionkit.ErrNotFound when no session has the ID.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	update := bson.D{{Key: "$set", Value: bson.D{
		{Key: "last", Value: lastSeen},
		{Key: "exp", Value: expiresAt},
	}}}
	unlock, err := s.locks.lock(ctx, id)
	if err != nil {
		return wrap(ctx, "touch", err)
	}
	defer unlock()
	res, err := s.coll.UpdateOne(ctx, byID(id), update)
	if err != nil {
		return wrap(ctx, "touch", err)
	}
	if res.MatchedCount == 0 {
		return sessionkit.ErrNotFound
	}
	return nil
}

// Delete implements sessionkit.Store. Deleting a missing session returns
// nil.
func (s *Store) Delete(ctx context.Context, id string) error {
	_, err := s.remove(ctx, "delete", id)
	return err
}

// Remove implements sessionkit.Remover: it deletes the session id as
// Delete does and reports whether this call deleted it, by the server's
// count of deleted documents. Of concurrent Removes of one session, from
// any number of instances, exactly one reports true (on FerretDB v1 too,
// which counts the rows its own delete statement removed).
func (s *Store) Remove(ctx context.Context, id string) (bool, error) {
	return s.remove(ctx, "remove", id)
}

// remove is Delete and Remove, with op naming the operation in errors.
func (s *Store) remove(ctx context.Context, op, id string) (bool, error) {
	res, err := s.coll.DeleteOne(ctx, byID(id))
	if err != nil {
		return false, wrap(ctx, op, err)
	}
	return res.DeletedCount > 0, nil
}

// ListByUser implements sessionkit.UserIndex. It returns the user's
// sessions, oldest first and whatever their expiry, without their values. An empty userID matches
// no session: anonymous sessions belong to no user.
func (s *Store) ListByUser(ctx context.Context, userID string) ([]sessionkit.SessionInfo, error) {
	if userID == "" {
		return nil, nil
	}
	filter := bson.D{{Key: "uid", Value: userID}}
	opts := options.Find().
		SetSort(bson.D{{Key: "created", Value: 1}, {Key: "_id", Value: 1}}).
		SetProjection(infoProjection)
	list, err := s.find(ctx, filter, opts)
	if err != nil {
		return nil, wrap(ctx, "list by user", err)
	}
	return list, nil
}

// DeleteByUser implements sessionkit.UserIndex. It deletes the user's
// sessions except the IDs in except, and returns how many it deleted,
// expired ones not yet collected included. An empty userID deletes
// nothing.
func (s *Store) DeleteByUser(ctx context.Context, userID string, except ...string) (int, error) {
	if userID == "" {
		return 0, nil
	}
	filter := bson.D{{Key: "uid", Value: userID}}
	if len(except) > 0 {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$nin", Value: except}}})
	}
	res, err := s.coll.DeleteMany(ctx, filter)
	if err != nil {
		return 0, wrap(ctx, "delete by user", err)
	}
	return int(res.DeletedCount), nil
}

// find returns every session that filter matches.
func (s *Store) find(ctx context.Context, filter bson.D, opts *options.FindOptionsBuilder) ([]sessionkit.SessionInfo, error) {
	cur, err := s.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, err
	}
	defer cur.Close(ctx)
	return readPage(ctx, cur, math.MaxInt)
}

// wrap annotates err with the operation and classifies it; it is the one
// place where the store decides what an error means. When the caller's
// context has ended, the error wraps the context's error
// (context.Canceled or context.DeadlineExceeded), whatever form the driver
// gave it, and never sessionkit.ErrUnavailable: cancellation is not an
// outage. Otherwise errors that mean the server could not be reached are
// marked with sessionkit.ErrUnavailable.
func wrap(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("mongostore: %s: %w", op, err)
		}
		return fmt.Errorf("mongostore: %s: %w (%v)", op, cerr, err)
	}
	if unavailable(err) {
		return fmt.Errorf("mongostore: %s: %w: %w", op, sessionkit.ErrUnavailable, err)
	}
	return fmt.Errorf("mongostore: %s: %w", op, err)
}

// unavailable reports whether err means that the server could not be
// reached: a network error, a timeout, a failed server selection, or a
// connection pool cleared because another operation could not reach the
// server. A canceled context is the caller's doing and does not count
// (wrap checks the caller's context first, so a deadline seen here is the
// driver's own: a timeout).
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var sse topology.ServerSelectionError
	var pce driver.RetryablePoolError
	return mongo.IsNetworkError(err) || mongo.IsTimeout(err) ||
		errors.As(err, &sse) || errors.As(err, &pce) && pce.Retryable()
}
