package rueidisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/redislayout"
)

// defaultExpressRetries bounds the optimistic-locking retries of Update.
const defaultExpressRetries = 32

// ExpressOptions configures an ExpressStore. Prefix, TTL and Cookie must
// match the Express application's connect-redis and express-session
// options.
type ExpressOptions struct {
	// Prefix starts every key: the key of a session is Prefix + its ID.
	// The default is connect-redis's, redislayout.DefaultExpressPrefix
	// ("sess:").
	Prefix string
	// TTL is connect-redis's ttl option: how long a session without
	// cookie.expires lives after each save or touch. The default is
	// redislayout.DefaultExpressTTL (86400 seconds).
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
// and a Go service share live sessions; it reads and writes the same data
// as redisstore.ExpressStore. Use it with sessionkit.Config's Express
// mode. It is safe for concurrent use.
//
// A session is the string key Prefix + ID holding the JSON that
// express-session writes, expiring as connect-redis makes it expire: at
// cookie.expires when it is set, after TTL otherwise. Go's updates change
// only the keys a request changed, by a read-modify-write under WATCH on a
// dedicated connection, retried when the key changed in between;
// express-session writes whole sessions, so a save by Express overwrites
// changes that Go made after Express loaded the session. The layout has no
// per-user index: ExpressStore implements neither sessionkit.UserIndex nor
// sessionkit.Iterator.
type ExpressStore struct {
	client  rueidis.Client
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
// application using connect-redis, through client. It does not send any
// command. The caller keeps ownership of client.
func NewExpress(client rueidis.Client, opts ExpressOptions) (*ExpressStore, error) {
	if client == nil {
		return nil, errors.New("rueidisstore: nil client")
	}
	if opts.TTL < 0 || opts.MaxRetries < 0 {
		return nil, errors.New("rueidisstore: negative ExpressOptions.TTL or MaxRetries")
	}
	s := &ExpressStore{client: client, prefix: opts.Prefix, ttl: opts.TTL, cookie: opts.Cookie, retries: opts.MaxRetries}
	if s.prefix == "" {
		s.prefix = redislayout.DefaultExpressPrefix
	}
	if s.ttl == 0 {
		s.ttl = redislayout.DefaultExpressTTL
	}
	if s.retries == 0 {
		s.retries = defaultExpressRetries
	}
	return s, nil
}

func (s *ExpressStore) key(id string) string { return redislayout.ExpressKey(s.prefix, id) }

// get reads the session and the time Redis still keeps it (negative when
// the key has no expiry), or nil when there is none, through c (the
// client, or a dedicated connection under WATCH). Errors are returned as
// they come, for the caller to wrap: the client's, or express.ErrMalformed
// for a session that does not parse.
func (s *ExpressStore) get(ctx context.Context, c rueidis.CoreClient, id string) (*express.Session, time.Duration, error) {
	res := c.DoMulti(ctx, c.B().Get().Key(s.key(id)).Build(), c.B().Pttl().Key(s.key(id)).Build())
	b, err := res[0].AsBytes()
	if rueidis.IsRedisNil(err) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	pttl, err := res[1].AsInt64()
	if err != nil {
		return nil, 0, err
	}
	sess, err := express.Decode(b)
	if err != nil {
		return nil, 0, err
	}
	return sess, time.Duration(pttl) * time.Millisecond, nil
}

// Load implements sessionkit.Store. It returns (nil, nil) when the key does
// not exist. See express.Session.Record for how the metadata of sessions
// that Express created or touched is derived.
func (s *ExpressStore) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	sess, remaining, err := s.get(ctx, s.client, id)
	if err != nil {
		return nil, wrapExpressErr(ctx, "load", err)
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
	ttl := redislayout.ExpressTTL(sess, now, s.ttl)
	if ttl <= 0 {
		return errors.New("rueidisstore: express session would expire at once (check ExpressOptions.Cookie.MaxAge)")
	}
	cmd := s.client.B().Set().Key(s.key(rec.ID)).Value(rueidis.BinaryString(b)).Nx().Ex(ttl).Build()
	err = s.client.Do(ctx, cmd).Error()
	if rueidis.IsRedisNil(err) {
		return sessionkit.ErrExists
	}
	if err != nil {
		return wrapErr(ctx, "create", err)
	}
	return nil
}

// errConflict reports that the key changed under WATCH.
var errConflict = errors.New("rueidisstore: watched key changed")

// Update implements sessionkit.Store. It reads the session, applies d to
// the keys d names, moves cookie.expires as express-session does on a save
// and writes the session back with connect-redis's expiry, in a MULTI under
// WATCH on a dedicated connection; when another client wrote the key in
// between, it starts again. It returns sessionkit.ErrNotFound when the key
// does not exist and never creates one.
func (s *ExpressStore) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	key := s.key(id)
	for attempt := 0; attempt < s.retries; attempt++ {
		err := s.client.Dedicated(func(c rueidis.DedicatedClient) error {
			if err := c.Do(ctx, c.B().Watch().Key(key).Build()).Error(); err != nil {
				return err
			}
			sess, remaining, err := s.get(ctx, c, id)
			if err == nil && sess == nil {
				err = sessionkit.ErrNotFound
			}
			now := time.Now()
			if err == nil {
				err = sess.Apply(d, sess.Record(id, now, remaining, s.ttl), now)
			}
			var b []byte
			if err == nil {
				b, err = sess.Marshal()
			}
			if err != nil {
				c.Do(context.WithoutCancel(ctx), c.B().Unwatch().Build()) // the connection goes back to the pool
				return err
			}
			write := c.B().Del().Key(key).Build() // connect-redis: a save past cookie.expires destroys
			if ttl := redislayout.ExpressTTL(sess, now, s.ttl); ttl > 0 {
				write = c.B().Set().Key(key).Value(rueidis.BinaryString(b)).Ex(ttl).Build()
			}
			res := c.DoMulti(ctx, c.B().Multi().Build(), write, c.B().Exec().Build())
			// When Redis refuses to queue the write (CLUSTERDOWN during a
			// failover, READONLY, OOM), EXEC fails with EXECABORT; the
			// write's own error says why.
			for _, r := range res[:2] {
				if err := r.Error(); err != nil {
					return err
				}
			}
			err = res[2].Error()
			if rueidis.IsRedisNil(err) {
				return errConflict
			}
			return err
		})
		switch {
		case errors.Is(err, errConflict):
			if err := sleepCtx(ctx, time.Duration(attempt+1)*time.Millisecond); err != nil {
				return wrapErr(ctx, "update", err)
			}
			continue
		case err == nil, errors.Is(err, sessionkit.ErrNotFound):
			return err
		default:
			return wrapExpressErr(ctx, "update", err)
		}
	}
	return fmt.Errorf("rueidisstore: update: the session changed %d times in a row while being updated", s.retries)
}

// Touch implements sessionkit.Store as connect-redis implements touch: the
// key's expiry is reset (to originalMaxAge when the cookie has one, TTL
// otherwise) and the JSON is not rewritten. The next Load derives the last
// activity from the remaining time, so lastSeen is implied; expiresAt is
// not used, the manager enforces its own deadlines. It returns
// sessionkit.ErrNotFound when the key does not exist.
func (s *ExpressStore) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	b, err := s.client.Do(ctx, s.client.B().Get().Key(s.key(id)).Build()).AsBytes()
	if rueidis.IsRedisNil(err) {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return wrapErr(ctx, "touch", err)
	}
	sess, err := express.Decode(b)
	if err != nil {
		return wrapExpressErr(ctx, "touch", err)
	}
	now := time.Now()
	sess.ResetMaxAge(now) // as express-session does before it calls touch
	ttl := redislayout.ExpressTTL(sess, now, s.ttl)
	ok, err := s.client.Do(ctx, s.client.B().Expire().Key(s.key(id)).Seconds(int64(ttl/time.Second)).Build()).AsBool()
	if err != nil {
		return wrapErr(ctx, "touch", err)
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
	n, err := s.client.Do(ctx, s.client.B().Del().Key(s.key(id)).Build()).AsInt64()
	if err != nil {
		return false, wrapErr(ctx, "delete", err)
	}
	return n == 1, nil
}

// wrapExpressErr wraps err like wrapErr, except for the errors of package
// express (a session that does not parse, a value that is not JSON, a
// reserved key), which say nothing of the server's health.
func wrapExpressErr(ctx context.Context, op string, err error) error {
	if errors.Is(err, express.ErrMalformed) || errors.Is(err, express.ErrNotJSON) || errors.Is(err, express.ErrReservedKey) {
		return fmt.Errorf("rueidisstore: %s: %w", op, err)
	}
	return wrapErr(ctx, op, err)
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
