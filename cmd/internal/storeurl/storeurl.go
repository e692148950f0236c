// Package storeurl opens a sessionkit session store named by a URL. It is
// the one place where the reference app (cmd/authserver) and the operator's
// tool (cmd/sessionctl) turn a URL into a store, so both accept the same
// URLs:
//
//	memory:                                  in-process memory
//	sqlite:PATH                              SQLite file (default DataDir/sessions.db)
//	redis://[user:pass@]host:port[/db]       a Redis server (rediss:// for TLS)
//	redis+cluster://[user:pass@]h1:p,h2:p    a Redis Cluster (rediss+cluster:// for TLS)
//	redis+sentinel://master@h1:p,h2:p[/db]   Redis behind Sentinel (?password= for the master)
//	mongodb://host[:port]/db                 MongoDB (mongodb+srv:// too)
//	postgres://user:pass@host/db             PostgreSQL
//	cookie:                                  encrypted cookies (Options.CookieKeys)
//
// The cookie store's revocation list is named by Options.Revocations, in
// the same forms (memory:, sqlite:PATH, redis URLs, postgres://).
package storeurl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/pgstore"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/sqlitestore"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// DefaultRedisPrefix starts every Redis key of the reference app's
// sessions.
const DefaultRedisPrefix = "authserver:"

// DefaultMongoDatabase is the database used when a mongodb:// URL names
// none.
const DefaultMongoDatabase = "authserver"

// ErrBadURL is wrapped by the errors of Open that come from the URL itself
// (an unknown scheme, a malformed address) rather than from the store.
var ErrBadURL = errors.New("bad store URL")

// badURL wraps err with ErrBadURL.
func badURL(err error) error { return fmt.Errorf("%w: %w", ErrBadURL, err) }

// Options tunes Open.
type Options struct {
	// DataDir holds the SQLite file of "sqlite:" without a path and of the
	// empty URL.
	DataDir string
	// CookieName and CookieKeys configure the "cookie:" store.
	CookieName string
	CookieKeys [][]byte
	// Revocations names the "cookie:" store's revocation list: empty or
	// "memory:" (per process: a logout does not hold on other instances
	// or after a restart), sqlite:PATH, a redis URL or postgres://.
	Revocations string
	// MaxLifetime is the longest absolute lifetime of a session, for
	// the "cookie:" store (cookiestore.Options.MaxLifetime). Zero means
	// cookiestore.DefaultMaxLifetime.
	MaxLifetime time.Duration
	// RedisPrefix starts every Redis key. Default: DefaultRedisPrefix.
	RedisPrefix string
	// CleanupInterval is passed to the stores that delete expired records
	// from a goroutine (memory, SQLite, PostgreSQL, MongoDB). Zero means
	// each store's default; negative turns the goroutine off.
	CleanupInterval time.Duration
	// MaxConns is the PostgreSQL pool's size when the URL sets no
	// pool_max_conns. Zero means pgx's default (4, or the number of CPUs).
	MaxConns int32
	// Logger receives the errors of the stores' cleanup goroutines.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Backend is an opened session store: exactly one of Store and ClientStore
// is set.
type Backend struct {
	Store       sessionkit.Store
	ClientStore sessionkit.ClientStore
	// Remember keeps remember-me tokens in the same backend as the
	// sessions (memory, SQLite, Redis, MongoDB, PostgreSQL); it is nil for
	// the cookie: store, which keeps no server state.
	Remember remember.Store
	// Kind names the backend for logs: "memory", "sqlite", "redis",
	// "mongodb", "postgres" or "cookie".
	Kind  string
	close []func() error
}

// Close releases the backend's connections.
func (b *Backend) Close() error {
	var errs []error
	for i := len(b.close) - 1; i >= 0; i-- {
		errs = append(errs, b.close[i]())
	}
	return errors.Join(errs...)
}

// Open opens the session store named by rawURL (see the package doc). The
// empty URL means "sqlite:" in opts.DataDir. Errors never contain the
// URL's password.
func Open(ctx context.Context, rawURL string, opts Options) (*Backend, error) {
	if rawURL == "" {
		rawURL = "sqlite:"
	}
	if opts.RedisPrefix == "" {
		opts.RedisPrefix = DefaultRedisPrefix
	}
	scheme, rest, _ := strings.Cut(rawURL, ":")
	b := &Backend{Kind: strings.ToLower(scheme)}
	if opts.Revocations != "" && b.Kind != "cookie" {
		return nil, badURL(fmt.Errorf("a revocation list (%s) is only for the cookie: store, not %s", Redact(opts.Revocations), Redact(rawURL)))
	}
	switch b.Kind {
	case "memory":
		s := memstore.New(memstore.Options{CleanupInterval: opts.CleanupInterval})
		b.Store, b.close = s, append(b.close, s.Close)
		b.Remember = remember.NewMemoryStore()
	case "sqlite":
		if rest == "" {
			rest = filepath.Join(opts.DataDir, "sessions.db")
		}
		if err := CreatePrivate(rest); err != nil {
			return nil, err
		}
		s, err := sqlitestore.Open(ctx, rest, sqlitestore.Options{CleanupInterval: opts.CleanupInterval, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		b.Store, b.close = s, append(b.close, s.Close)
		r, err := sqlitestore.NewRememberStore(ctx, s, sqlitestore.RememberOptions{CleanupInterval: opts.CleanupInterval, Logger: opts.Logger})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Remember, b.close = r, append(b.close, r.Close)
	case "redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel":
		client, err := redisClient(ctx, rawURL, b)
		if err != nil {
			b.Close()
			return nil, err
		}
		s, err := redisstore.New(client, redisstore.Options{Prefix: opts.RedisPrefix})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Store, b.Kind = s, "redis"
		if b.Remember, err = redisstore.NewRememberStore(s); err != nil {
			b.Close()
			return nil, err
		}
	case "mongodb", "mongodb+srv":
		client, db, err := ConnectMongo(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		b.close = append(b.close, func() error { return client.Disconnect(context.Background()) })
		s, err := mongostore.New(ctx, client.Database(db), mongostore.Options{CleanupInterval: opts.CleanupInterval})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Store, b.Kind = s, "mongodb"
		b.close = append(b.close, s.Close)
		r, err := mongostore.NewRememberStore(ctx, s, mongostore.RememberOptions{CleanupInterval: opts.CleanupInterval})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Remember, b.close = r, append(b.close, r.Close)
	case "postgres", "postgresql":
		pool, err := postgresPool(ctx, rawURL, opts, b)
		if err != nil {
			b.Close()
			return nil, err
		}
		s, err := pgstore.New(ctx, pool, pgstore.Options{CleanupInterval: opts.CleanupInterval, Logger: opts.Logger})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Store, b.Kind = s, "postgres"
		b.close = append(b.close, s.Close)
		r, err := pgstore.NewRememberStore(ctx, s, pgstore.RememberOptions{CleanupInterval: opts.CleanupInterval, Logger: opts.Logger})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Remember, b.close = r, append(b.close, r.Close)
	case "cookie":
		if len(opts.CookieKeys) == 0 {
			return nil, errors.New("cookie: store needs a cookie key")
		}
		revs, err := openRevocations(ctx, opts.Revocations, opts, b)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("revocations: %w", err)
		}
		s, err := cookiestore.New(cookiestore.Options{
			Keys: opts.CookieKeys, CookieName: opts.CookieName,
			Revocations: revs, MaxLifetime: opts.MaxLifetime,
		})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.ClientStore = s
	default:
		return nil, badURL(fmt.Errorf("unknown session store %q (want memory:, sqlite:PATH, redis://, redis+cluster://, redis+sentinel://, mongodb://, postgres:// or cookie:)", Redact(rawURL)))
	}
	return b, nil
}

// redisClient returns a client for the Redis URL rawURL, after a PING, and
// adds its Close to b.
func redisClient(ctx context.Context, rawURL string, b *Backend) (redis.UniversalClient, error) {
	client, err := RedisClient(rawURL)
	if err != nil {
		return nil, badURL(err)
	}
	b.close = append(b.close, client.Close)
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return client, nil
}

// postgresPool returns a pool for the PostgreSQL URL rawURL, sized by
// opts.MaxConns unless the URL sets pool_max_conns, after a ping, and adds
// its Close to b.
func postgresPool(ctx context.Context, rawURL string, opts Options, b *Backend) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, badURL(fmt.Errorf("postgres: %w", err))
	}
	if opts.MaxConns > 0 && !strings.Contains(rawURL, "pool_max_conns") {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	b.close = append(b.close, func() error { pool.Close(); return nil })
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return pool, nil
}

// ConnectMongo connects to MongoDB and returns the database named in the
// URL's path (default DefaultMongoDatabase).
func ConnectMongo(ctx context.Context, rawURL string) (*mongo.Client, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", badURL(fmt.Errorf("mongodb URL: %w", err))
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = DefaultMongoDatabase
	}
	client, err := mongo.Connect(options.Client().ApplyURI(rawURL).SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		return nil, "", badURL(fmt.Errorf("mongodb: %w", err))
	}
	if err := client.Ping(ctx, nil); err != nil {
		client.Disconnect(context.Background())
		return nil, "", fmt.Errorf("mongodb: %w", err)
	}
	return client, db, nil
}

// RedisClient returns a client for a redis://, rediss://,
// redis+cluster://h1,h2,… or redis+sentinel://master@h1,h2,… URL.
func RedisClient(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	switch scheme {
	case "redis", "rediss":
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, err
		}
		o.ContextTimeoutEnabled = true
		return redis.NewClient(o), nil
	case "redis+cluster", "rediss+cluster":
		base := strings.TrimSuffix(scheme, "+cluster")
		user, hosts, path, query := splitMultiHost(rest)
		if len(hosts) == 0 {
			return nil, errors.New("redis+cluster: no hosts")
		}
		for _, h := range hosts[1:] {
			query.Add("addr", h)
		}
		u := &url.URL{Scheme: base, User: user, Host: hosts[0], Path: path, RawQuery: query.Encode()}
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, err
		}
		o.ContextTimeoutEnabled = true
		return redis.NewClusterClient(o), nil
	case "redis+sentinel", "rediss+sentinel":
		base := strings.TrimSuffix(scheme, "+sentinel")
		user, hosts, path, query := splitMultiHost(rest)
		if user == nil || user.Username() == "" {
			return nil, errors.New("redis+sentinel: want redis+sentinel://MASTER@host1:port,host2:port")
		}
		if len(hosts) == 0 {
			return nil, errors.New("redis+sentinel: no hosts")
		}
		query.Set("master_name", user.Username())
		for _, h := range hosts[1:] {
			query.Add("addr", h)
		}
		u := &url.URL{Scheme: base, Host: hosts[0], Path: path, RawQuery: query.Encode()}
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, err
		}
		o.ContextTimeoutEnabled = true
		return redis.NewFailoverClient(o), nil
	}
	return nil, fmt.Errorf("not a Redis URL: %q", Redact(rawURL))
}

// splitMultiHost splits "[userinfo@]h1,h2[/path][?query]".
func splitMultiHost(rest string) (*url.Userinfo, []string, string, url.Values) {
	rest, rawQuery, _ := strings.Cut(rest, "?")
	query, _ := url.ParseQuery(rawQuery)
	authority, path, _ := strings.Cut(rest, "/")
	var user *url.Userinfo
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		info := authority[:i]
		authority = authority[i+1:]
		name, pass, hasPass := strings.Cut(info, ":")
		name, _ = url.PathUnescape(name)
		pass, _ = url.PathUnescape(pass)
		if hasPass {
			user = url.UserPassword(name, pass)
		} else {
			user = url.User(name)
		}
	}
	var hosts []string
	for h := range strings.SplitSeq(authority, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	if path != "" {
		path = "/" + path
	}
	return user, hosts, path, query
}

// Redact hides the password of a URL for logs and errors.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "xxxxx@" + raw[i+1:]
		}
	}
	return raw
}
