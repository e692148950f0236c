package mongostore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// DefaultExpressTTL is connect-mongo's default ttl: 14 days.
const DefaultExpressTTL = 14 * 24 * time.Hour

// defaultExpressRetries bounds the optimistic-locking retries of Update.
const defaultExpressRetries = 32

// ExpressOptions configures an ExpressStore. Collection, TTL, Subdocument
// and Cookie must match the Express application's connect-mongo and
// express-session options.
type ExpressOptions struct {
	// Collection is connect-mongo's collectionName (default "sessions").
	Collection string
	// TTL is connect-mongo's ttl option: how long a session without
	// cookie.expires lives after each save or touch (default
	// DefaultExpressTTL, 14 days).
	TTL time.Duration
	// Subdocument writes the session field as a sub-document, as
	// connect-mongo does with stringify: false. By default it is a JSON
	// string, connect-mongo's default (stringify: true). Both forms are
	// read whatever this option says.
	Subdocument bool
	// Cookie is express-session's cookie option, written with the
	// sessions that Go creates.
	Cookie express.Cookie
	// MaxRetries bounds how often Update retries when another writer
	// changed the session between its read and its write (default 32).
	MaxRetries int
}

// ExpressStore is a sessionkit.Store that keeps sessions as connect-mongo
// (versions 4 to 6) does for express-session, so that an Express
// application and a Go service share live sessions. Use it with
// express-session's token scheme (sessionkit.Config.Tokens set to
// express.NewTokens). It is safe for concurrent use.
//
// A session is the document
//
//	{_id: <session ID>, expires: <Date>, session: <JSON string or sub-document>}
//
// where session is what express-session stores (see package express), with
// sessionkit's metadata under the key "sessionkit". Reads ignore documents
// whose expires has passed. The store creates no index: the TTL index on
// expires is connect-mongo's (autoRemove: 'native'); on servers without TTL
// indexes, such as FerretDB, set autoRemove to 'interval' or remove
// expired documents otherwise.
//
// Compared with Store, this layout gives up hashed keys (_id is the session
// ID that the cookie carries), per-user indexing and field-level updates.
// Go's updates change only the keys a request changed, by reading the
// session and writing it back only if it is still the one read (compare and
// swap on the session field, retried), so overlapping Go requests lose
// nothing; connect-mongo, however, writes whole sessions, so a save by
// Express overwrites changes that Go made after Express loaded the session.
// Updates never upsert.
type ExpressStore struct {
	coll    *mongo.Collection
	ttl     time.Duration
	subdoc  bool
	cookie  express.Cookie
	retries int

	// locks serialize this store's own read-modify-writes of one session:
	// FerretDB applies an update without isolation, so two compare and
	// swaps could otherwise both succeed.
	locks *sessionLocks
}

var _ sessionkit.Store = (*ExpressStore)(nil)

// NewExpress returns a store that shares the sessions of an Express
// application using connect-mongo, in a collection of db. It does not
// contact the server and creates no index. The caller keeps ownership of
// the client.
func NewExpress(ctx context.Context, db *mongo.Database, opts ExpressOptions) (*ExpressStore, error) {
	if db == nil {
		return nil, errors.New("mongostore: nil database")
	}
	if opts.TTL < 0 || opts.MaxRetries < 0 {
		return nil, errors.New("mongostore: negative ExpressOptions.TTL or MaxRetries")
	}
	if opts.Collection == "" {
		opts.Collection = DefaultCollection
	}
	s := &ExpressStore{
		coll: db.Collection(opts.Collection), ttl: opts.TTL, subdoc: opts.Subdocument,
		cookie: opts.Cookie, retries: opts.MaxRetries, locks: newSessionLocks(),
	}
	if s.ttl == 0 {
		s.ttl = DefaultExpressTTL
	}
	if s.retries == 0 {
		s.retries = defaultExpressRetries
	}
	return s, nil
}

// expressDoc is connect-mongo's document.
type expressDoc struct {
	ID      string        `bson:"_id"`
	Expires *time.Time    `bson:"expires"`
	Session bson.RawValue `bson:"session"`
}

// live matches the session id unless its expires has passed, as
// connect-mongo's get does.
func (s *ExpressStore) live(id string, now time.Time) bson.D {
	return bson.D{
		{Key: "_id", Value: id},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "expires", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "expires", Value: bson.D{{Key: "$gt", Value: now}}}},
		}},
	}
}

// find returns the live document of id, or nil.
func (s *ExpressStore) find(ctx context.Context, op, id string, now time.Time) (*expressDoc, *express.Session, error) {
	var d expressDoc
	err := s.coll.FindOne(ctx, s.live(id, now)).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, wrap(ctx, op, err)
	}
	sess, err := decodeExpressSession(d.Session)
	if err != nil {
		return nil, nil, fmt.Errorf("mongostore: %s: %w", op, err)
	}
	return &d, sess, nil
}

// remaining returns how long the document still lives, or -1 when it has
// no expires field.
func remaining(d *expressDoc, now time.Time) time.Duration {
	if d.Expires == nil {
		return -1
	}
	return d.Expires.Sub(now)
}

// Load implements sessionkit.Store. It returns (nil, nil) when no live
// document has the ID. See express.Session.Record for how the metadata of
// sessions that Express created or touched is derived.
func (s *ExpressStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	now := time.Now()
	d, sess, err := s.find(ctx, "load", id, now)
	if err != nil || d == nil {
		return nil, err
	}
	return sess.Record(id, now, remaining(d, now), s.ttl), nil
}

// expiresFor returns connect-mongo's expires for sess: cookie.expires when
// it is set, now + TTL otherwise.
func (s *ExpressStore) expiresFor(sess *express.Session, now time.Time) time.Time {
	if exp, ok := sess.Expires(); ok {
		return exp
	}
	return now.Add(s.ttl)
}

// sessionValue returns the session field to write: a JSON string, or a
// sub-document with cookie.expires as a Date.
func (s *ExpressStore) sessionValue(sess *express.Session) (any, error) {
	b, err := sess.Marshal()
	if err != nil {
		return nil, err
	}
	if !s.subdoc {
		return string(b), nil
	}
	return jsonToBSON(b)
}

// Create implements sessionkit.Store. It inserts the session as
// express-session would create it with ExpressOptions.Cookie, and returns
// sessionkit.ErrExists when a live document has the ID. An expired
// document that was not removed yet is replaced.
func (s *ExpressStore) Create(ctx context.Context, rec *sessionkit.Record) error {
	now := time.Now()
	sess, err := express.New(rec, s.cookie, now)
	if err != nil {
		return err
	}
	v, err := s.sessionValue(sess)
	if err != nil {
		return err
	}
	doc := bson.D{{Key: "_id", Value: rec.ID}, {Key: "expires", Value: s.expiresFor(sess, now)}, {Key: "session", Value: v}}
	_, err = s.coll.InsertOne(ctx, doc)
	if err == nil {
		return nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return wrap(ctx, "create", err)
	}
	return replaceExpired(ctx, s.coll, rec.ID, "expires", doc)
}

// Update implements sessionkit.Store. It reads the session, applies d to
// the keys d names, moves cookie.expires as express-session does on a save,
// and writes session and expires back with a filter on the session field it
// read; when another writer changed it in between, it starts again. It
// returns sessionkit.ErrNotFound when no live document has the ID and
// never creates one.
func (s *ExpressStore) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	unlock, err := s.locks.lock(ctx, id)
	if err != nil {
		return wrap(ctx, "update", err)
	}
	defer unlock()
	for attempt := 0; attempt < s.retries; attempt++ {
		now := time.Now()
		doc, sess, err := s.find(ctx, "update", id, now)
		if err != nil {
			return err
		}
		if doc == nil {
			return sessionkit.ErrNotFound
		}
		if err := sess.Apply(d, sess.Record(id, now, remaining(doc, now), s.ttl), now); err != nil {
			return fmt.Errorf("mongostore: update: %w", err)
		}
		v, err := s.sessionValue(sess)
		if err != nil {
			return fmt.Errorf("mongostore: update: %w", err)
		}
		filter := bson.D{{Key: "_id", Value: id}, {Key: "session", Value: doc.Session}}
		update := bson.D{{Key: "$set", Value: bson.D{{Key: "session", Value: v}, {Key: "expires", Value: s.expiresFor(sess, now)}}}}
		res, err := s.coll.UpdateOne(ctx, filter, update)
		if err != nil {
			return wrap(ctx, "update", err)
		}
		if res.MatchedCount == 1 {
			return nil
		}
		t := time.NewTimer(time.Duration(attempt+1) * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return wrap(ctx, "update", ctx.Err())
		}
	}
	return fmt.Errorf("mongostore: update: the session changed %d times in a row while being updated", s.retries)
}

// Touch implements sessionkit.Store as connect-mongo implements touch: only
// expires moves (to now + originalMaxAge when the cookie has one, now + TTL
// otherwise); the session is not rewritten. The next Load derives the last
// activity from it. It returns sessionkit.ErrNotFound when no live document
// has the ID.
func (s *ExpressStore) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	now := time.Now()
	doc, sess, err := s.find(ctx, "touch", id, now)
	if err != nil {
		return err
	}
	if doc == nil {
		return sessionkit.ErrNotFound
	}
	sess.ResetMaxAge(now)
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "expires", Value: s.expiresFor(sess, now)}}}}
	res, err := s.coll.UpdateOne(ctx, s.live(id, now), update)
	if err != nil {
		return wrap(ctx, "touch", err)
	}
	if res.MatchedCount == 0 {
		return sessionkit.ErrNotFound
	}
	return nil
}

// Delete implements sessionkit.Store with deleteOne, as connect-mongo
// destroys a session. Deleting a missing session returns nil.
func (s *ExpressStore) Delete(ctx context.Context, id string) error {
	if _, err := s.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}}); err != nil {
		return wrap(ctx, "delete", err)
	}
	return nil
}

// decodeExpressSession parses connect-mongo's session field, a JSON string
// or a sub-document.
func decodeExpressSession(v bson.RawValue) (*express.Session, error) {
	switch v.Type {
	case bson.TypeString:
		return express.Decode([]byte(v.StringValue()))
	case bson.TypeEmbeddedDocument:
		var b bytes.Buffer
		if err := appendJSON(&b, v); err != nil {
			return nil, fmt.Errorf("%w: %w", express.ErrMalformed, err)
		}
		return express.Decode(b.Bytes())
	}
	return nil, fmt.Errorf("%w: session field of BSON type %v", express.ErrMalformed, v.Type)
}

// appendJSON writes v as JSON.stringify would write the value the Node.js
// driver reads from it: Dates become ISO strings, ObjectIds hex strings and
// numbers JavaScript numbers. Other BSON types, which express-session
// sessions do not hold, become MongoDB extended JSON.
func appendJSON(b *bytes.Buffer, v bson.RawValue) error {
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		elems, err := v.Document().Elements()
		if err != nil {
			return err
		}
		b.WriteByte('{')
		first := true
		for _, e := range elems {
			if e.Value().Type == bson.TypeUndefined {
				continue // JSON.stringify drops undefined
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(e.Key())
			b.Write(k)
			b.WriteByte(':')
			if err := appendJSON(b, e.Value()); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return err
		}
		b.WriteByte('[')
		for i, e := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := appendJSON(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case bson.TypeString:
		k, _ := json.Marshal(v.StringValue())
		b.Write(k)
	case bson.TypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			b.WriteString("null")
			break
		}
		k, _ := json.Marshal(f)
		b.Write(k)
	case bson.TypeInt32:
		b.WriteString(strconv.FormatInt(int64(v.Int32()), 10))
	case bson.TypeInt64:
		b.WriteString(strconv.FormatInt(v.Int64(), 10))
	case bson.TypeBoolean:
		b.WriteString(strconv.FormatBool(v.Boolean()))
	case bson.TypeNull, bson.TypeUndefined:
		b.WriteString("null")
	case bson.TypeDateTime:
		k, _ := json.Marshal(v.Time().UTC().Format("2006-01-02T15:04:05.000Z"))
		b.Write(k)
	case bson.TypeObjectID:
		k, _ := json.Marshal(v.ObjectID().Hex())
		b.Write(k)
	case bson.TypeDecimal128:
		k, _ := json.Marshal(v.Decimal128().String())
		b.Write(k)
	default:
		b.WriteString(v.String())
	}
	return nil
}

// jsonToBSON converts a stored session to the sub-document connect-mongo
// writes with stringify: false: key order is kept, cookie.expires becomes a
// Date, integers become Int32 when they fit (as the Node.js driver writes
// them), Int64 when they do not, and other numbers doubles.
func jsonToBSON(data []byte) (bson.D, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeBSONValue(dec, "")
	if err != nil {
		return nil, err
	}
	d, ok := v.(bson.D)
	if !ok {
		return nil, errors.New("mongostore: session is not an object")
	}
	return d, nil
}

// decodeBSONValue reads the next JSON value from dec; path is its dotted
// path from the top.
func decodeBSONValue(dec *json.Decoder, path string) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := bson.D{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				v, err := decodeBSONValue(dec, path+"."+k)
				if err != nil {
					return nil, err
				}
				d = append(d, bson.E{Key: k, Value: v})
			}
			_, err := dec.Token()
			return d, err
		case '[':
			a := bson.A{}
			for dec.More() {
				v, err := decodeBSONValue(dec, path+".[]")
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		if path == ".cookie.expires" {
			if tm, err := time.Parse(time.RFC3339Nano, t); err == nil {
				return tm, nil
			}
		}
		return t, nil
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			if i >= math.MinInt32 && i <= math.MaxInt32 {
				return int32(i), nil
			}
			return i, nil
		}
		return t.Float64()
	default: // bool, nil
		return t, nil
	}
}
