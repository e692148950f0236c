package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/redislayout"
)

// Defaults of ExpressOptions, those of connect-redis.
const (
	DefaultExpressPrefix = redislayout.DefaultExpressPrefix
	DefaultExpressTTL    = redislayout.DefaultExpressTTL
)

// defaultExpressRetries bounds the optimistic-locking retries of Update.
const defaultExpressRetries = 32

// ExpressOptions configures an ExpressStore. Prefix, TTL and Cookie must
// match the Express application's connect-redis and express-session
// options.
type ExpressOptions struct {
	// Prefix starts every key: the key of a session is Prefix + its ID.
	// The default is connect-redis's, DefaultExpressPrefix ("sess:").
	Prefix string
	// TTL is connect-redis's ttl option: how long a session without
	// cookie.expires lives after each save or touch. The default is
	// DefaultExpressTTL (86400 seconds).
	TTL time.Duration
	// Cookie is express-session's cookie option, written with the
	// sessions that Go creates.
	Cookie express.Cookie
	// MaxRetries bounds how often Update retries when another writer
	// changed the session between its read and its write (default 32).
	MaxRetries int
}

// ExpressStore is a sessionkit.Store that keeps sessions in the format of
// connect-redis 4–10 with express-session, so that an Express application
// and a Go service share live sessions. Use it with express-session's token
// scheme (sessionkit.Config.Tokens set to express.NewTokens). It is safe for concurrent use.
//
// A session is the string key Prefix + ID holding the JSON that
// express-session writes (the cookie object first, then the values as
// top-level keys, plus sessionkit's metadata under the key "sessionkit"),
// expiring as connect-redis makes it expire: at cookie.expires when it is
// set, after TTL otherwise.
//
// Compared with Store, this layout gives up hashed keys (the key holds the
// session ID that the cookie carries, so a dump of Redis yields usable
// sessions), per-user indexing (it implements neither sessionkit.UserIndex
// nor sessionkit.Iterator) and atomic scripts. Go's updates change only the
// keys a request changed, by a read-modify-write under WATCH that is retried
// when the key changed in between, so overlapping Go requests lose nothing;
// express-session, however, writes whole sessions, so a save by Express
// overwrites changes that Go made after Express loaded the session, as it
// would overwrite those of another Express request.
type ExpressStore struct {
	*reloader
	client  redis.UniversalClient
	prefix  string
	ttl     time.Duration
	cookie  express.Cookie
	retries int
}

var (
	_ sessionkit.Store   = (*ExpressStore)(nil)
	_ sessionkit.Remover = (*ExpressStore)(nil)
)

// NewExpress returns a store that shares the sessions of an Express
// application using connect-redis, through client. It does not contact
// the server. The caller keeps ownership of client.
func NewExpress(client redis.UniversalClient, opts ExpressOptions) (*ExpressStore, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	if opts.TTL < 0 || opts.MaxRetries < 0 {
		return nil, errors.New("redisstore: negative ExpressOptions.TTL or MaxRetries")
	}
	s := &ExpressStore{reloader: newReloader(client), client: client, prefix: opts.Prefix, ttl: opts.TTL, cookie: opts.Cookie, retries: opts.MaxRetries}
	if s.prefix == "" {
		s.prefix = DefaultExpressPrefix
	}
	if s.ttl == 0 {
		s.ttl = DefaultExpressTTL
	}
	if s.retries == 0 {
		s.retries = defaultExpressRetries
	}
	return s, nil
}

func (s *ExpressStore) key(id string) string { return redislayout.ExpressKey(s.prefix, id) }

// get reads the session and the time Redis still keeps it (negative when
// the key has no expiry), or nil when there is none. Within a WATCH, c is
// the transaction's connection. Errors are returned as they come, for the
// caller to wrap: the client's, or express.ErrMalformed for a session that
// does not parse.
func (s *ExpressStore) get(ctx context.Context, c redis.Cmdable, id string) (*express.Session, time.Duration, error) {
	var get *redis.StringCmd
	var pttl *redis.DurationCmd
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, s.key(id))
		pttl = p.PTTL(ctx, s.key(id))
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	sess, err := express.Decode([]byte(get.Val()))
	if err != nil {
		return nil, 0, err
	}
	return sess, pttl.Val(), nil
}

// ttlFor returns the expiry connect-redis gives sess when it saves it now.
func (s *ExpressStore) ttlFor(sess *express.Session, now time.Time) time.Duration {
	return redislayout.ExpressTTL(sess, now, s.ttl)
}

// Load implements sessionkit.Store. It returns (nil, nil) when the key does
// not exist. See express.Session.Record for how the metadata of sessions
// that Express created or touched is derived.
func (s *ExpressStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	sess, remaining, err := s.get(ctx, s.client, id)
	if err != nil {
		return nil, s.wrapExpressErr(ctx, "load", err)
	}
	if sess == nil {
		return nil, nil
	}
	return sess.Record(id, time.Now(), remaining, s.ttl), nil
}

// Create implements sessionkit.Store. It writes a new session as
// express-session would create it with ExpressOptions.Cookie (SET NX with
// connect-redis's expiry) and returns sessionkit.ErrExists if the key
// exists.
func (s *ExpressStore) Create(ctx context.Context, rec *sessionkit.Record) error {
	now := time.Now()
	sess, err := express.New(rec, s.cookie, now)
	if err != nil {
		return err
	}
	b, err := sess.Marshal()
	if err != nil {
		return err
	}
	ttl := s.ttlFor(sess, now)
	if ttl <= 0 {
		return errors.New("redisstore: express session would expire at once (check ExpressOptions.Cookie.MaxAge)")
	}
	ok, err := s.client.SetNX(ctx, s.key(rec.ID), b, ttl).Result()
	if err != nil {
		return s.wrapErr(ctx, "create", err)
	}
	if !ok {
		return sessionkit.ErrExists
	}
	return nil
}

// Update implements sessionkit.Store. It reads the session, applies d to
// the keys d names, moves cookie.expires as express-session does on a save
// and writes the session back with connect-redis's expiry, in a MULTI under
// WATCH; when another client wrote the key in between, it starts again. It
// returns sessionkit.ErrNotFound when the key does not exist and never
// creates one.
func (s *ExpressStore) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	key := s.key(id)
	for attempt := 0; attempt < s.retries; attempt++ {
		err := s.client.Watch(ctx, func(tx *redis.Tx) error {
			sess, remaining, err := s.get(ctx, tx, id)
			if err != nil {
				return err
			}
			if sess == nil {
				return sessionkit.ErrNotFound
			}
			now := time.Now()
			if err := sess.Apply(d, sess.Record(id, now, remaining, s.ttl), now); err != nil {
				return err
			}
			b, err := sess.Marshal()
			if err != nil {
				return err
			}
			ttl := s.ttlFor(sess, now)
			var write redis.Cmder
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				if ttl <= 0 {
					write = p.Del(ctx, key) // connect-redis: a save past cookie.expires destroys
				} else {
					write = p.Set(ctx, key, b, ttl)
				}
				return nil
			})
			if err != nil && write.Err() != nil {
				// When Redis refuses to queue the write (CLUSTERDOWN
				// during a failover, READONLY, OOM), EXEC fails with
				// EXECABORT; the write's own error says why.
				err = write.Err()
			}
			return err
		}, key)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			if err := sleepCtx(ctx, time.Duration(attempt+1)*time.Millisecond); err != nil {
				return s.wrapErr(ctx, "update", err)
			}
			continue
		case err == nil, errors.Is(err, sessionkit.ErrNotFound):
			return err
		default:
			return s.wrapExpressErr(ctx, "update", err)
		}
	}
	return fmt.Errorf("redisstore: update: the session changed %d times in a row while being updated", s.retries)
}

// wrapExpressErr wraps err like wrapErr, except for the errors of package
// express (a session that does not parse, a value that is not JSON, a
// reserved key), which say nothing of the server's health.
func (r *reloader) wrapExpressErr(ctx context.Context, op string, err error) error {
	if errors.Is(err, express.ErrMalformed) || errors.Is(err, express.ErrNotJSON) || errors.Is(err, express.ErrReservedKey) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return r.wrapErr(ctx, op, err)
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Touch implements sessionkit.Store as connect-redis implements touch: the
// key's expiry is reset (to originalMaxAge when the cookie has one, TTL
// otherwise) and the JSON is not rewritten. The next Load derives the last
// activity from the remaining time, so lastSeen is implied; expiresAt is
// not used, the manager enforces its own deadlines. It returns
// sessionkit.ErrNotFound when the key does not exist.
func (s *ExpressStore) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	b, err := s.client.Get(ctx, s.key(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return s.wrapErr(ctx, "touch", err)
	}
	sess, err := express.Decode(b)
	if err != nil {
		return s.wrapExpressErr(ctx, "touch", err)
	}
	now := time.Now()
	sess.ResetMaxAge(now) // as express-session does before it calls touch
	ttl := s.ttlFor(sess, now)
	ok, err := s.client.Expire(ctx, s.key(id), ttl).Result()
	if err != nil {
		return s.wrapErr(ctx, "touch", err)
	}
	if !ok {
		return sessionkit.ErrNotFound
	}
	return nil
}

// Delete implements sessionkit.Store with DEL, as connect-redis destroys a
// session. Deleting a missing session is not an error.
func (s *ExpressStore) Delete(ctx context.Context, id string) error {
	_, err := s.Remove(ctx, id)
	return err
}

// Remove implements sessionkit.Remover: it deletes the session as Delete
// does and reports whether this call deleted its key (DEL's count).
// connect-redis's keys expire with the session, so an expired session is
// usually gone before anyone removes it.
func (s *ExpressStore) Remove(ctx context.Context, id string) (bool, error) {
	n, err := s.client.Del(ctx, s.key(id)).Result()
	if err != nil {
		return false, s.wrapErr(ctx, "delete", err)
	}
	return n == 1, nil
}
