package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/sqlitestore"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// SessionBackend is an opened session store: exactly one of Store and
// ClientStore is set.
type SessionBackend struct {
	Store       sessionkit.Store
	ClientStore sessionkit.ClientStore
	// Remember keeps remember-me tokens; only the memory: backend has one.
	Remember remember.Store
	// Kind names the backend for logs ("sqlite", "redis", …).
	Kind  string
	close []func() error
}

// Close releases the backend's connections.
func (b *SessionBackend) Close() error {
	var errs []error
	for i := len(b.close) - 1; i >= 0; i-- {
		errs = append(errs, b.close[i]())
	}
	return errors.Join(errs...)
}

// defaultDBPath returns dataDir/name.
func defaultDBPath(dataDir, name string) string { return filepath.Join(dataDir, name) }

// OpenSessions opens the session store named by rawURL:
//
//	memory:                                  in-process memory
//	sqlite:PATH                              SQLite file (default DATA/sessions.db)
//	redis://[user:pass@]host:port[/db]       a Redis server (rediss:// for TLS)
//	redis+cluster://[user:pass@]h1:p,h2:p    a Redis Cluster (rediss+cluster:// for TLS)
//	redis+sentinel://master@h1:p,h2:p[/db]   Redis behind Sentinel (?password= for the master)
//	mongodb://host[:port]/db                 MongoDB (mongodb+srv:// too)
//	postgres://user:pass@host/db             PostgreSQL
//	cookie:                                  encrypted cookies (cookieKeys)
//
// cookieName is the session cookie's name, which the cookie store binds
// into its values.
func OpenSessions(ctx context.Context, rawURL, dataDir, cookieName string, cookieKeys [][]byte, log *slog.Logger) (*SessionBackend, error) {
	if rawURL == "" {
		rawURL = "sqlite:" + defaultDBPath(dataDir, "sessions.db")
	}
	scheme, rest, _ := strings.Cut(rawURL, ":")
	b := &SessionBackend{Kind: scheme}
	switch strings.ToLower(scheme) {
	case "memory":
		s := memstore.New(memstore.Options{})
		b.Store, b.close = s, append(b.close, s.Close)
		b.Remember = remember.NewMemoryStore()
	case "sqlite":
		if rest == "" {
			rest = defaultDBPath(dataDir, "sessions.db")
		}
		if err := createPrivate(rest); err != nil {
			return nil, err
		}
		s, err := sqlitestore.Open(ctx, rest, sqlitestore.Options{Logger: log})
		if err != nil {
			return nil, err
		}
		b.Store, b.close = s, append(b.close, s.Close)
	case "redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel":
		client, err := RedisClient(rawURL)
		if err != nil {
			return nil, err
		}
		b.close = append(b.close, client.Close)
		if err := client.Ping(ctx).Err(); err != nil {
			b.Close()
			return nil, fmt.Errorf("redis: %w", err)
		}
		s, err := redisstore.New(client, redisstore.Options{Prefix: "authserver:"})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Store, b.Kind = s, "redis"
	case "mongodb", "mongodb+srv":
		client, db, err := connectMongo(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		b.close = append(b.close, func() error { return client.Disconnect(context.Background()) })
		s, err := mongostore.New(ctx, client.Database(db), mongostore.Options{})
		if err != nil {
			b.Close()
			return nil, err
		}
		b.Store, b.Kind = s, "mongodb"
		b.close = append(b.close, s.Close)
	case "postgres", "postgresql":
		s, closeFn, err := openPostgresSessions(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		b.Store, b.Kind = s, "postgres"
		b.close = append(b.close, closeFn)
	case "cookie":
		if len(cookieKeys) == 0 {
			return nil, errors.New("cookie: store needs a cookie key")
		}
		s, err := cookiestore.New(cookiestore.Options{
			Keys: cookieKeys, CookieName: cookieName,
			Revocations: cookiestore.NewMemoryRevocations(nil),
		})
		if err != nil {
			return nil, err
		}
		b.ClientStore = s
	default:
		return nil, fmt.Errorf("unknown session store %q (want memory:, sqlite:PATH, redis://, redis+cluster://, redis+sentinel://, mongodb://, postgres:// or cookie:)", redactURL(rawURL))
	}
	return b, nil
}

// OpenUsers opens the user store named by rawURL: sqlite:PATH (default
// DATA/users.db), memory: (SQLite in memory), mongodb://… or postgres://….
func OpenUsers(ctx context.Context, rawURL, dataDir string) (UserStore, error) {
	if rawURL == "" {
		rawURL = "sqlite:" + defaultDBPath(dataDir, "users.db")
	}
	scheme, rest, _ := strings.Cut(rawURL, ":")
	switch strings.ToLower(scheme) {
	case "memory":
		return OpenSQLiteUsers(ctx, ":memory:")
	case "sqlite":
		if rest == "" {
			rest = defaultDBPath(dataDir, "users.db")
		}
		return OpenSQLiteUsers(ctx, rest)
	case "mongodb", "mongodb+srv":
		client, db, err := connectMongo(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		u, err := newMongoUsers(ctx, client.Database(db))
		if err != nil {
			client.Disconnect(context.Background())
			return nil, err
		}
		return &closingUsers{UserStore: u, close: func() error { return client.Disconnect(context.Background()) }}, nil
	case "postgres", "postgresql":
		return OpenPostgresUsers(ctx, rawURL)
	}
	return nil, fmt.Errorf("unknown user store %q (want sqlite:PATH, memory:, mongodb:// or postgres://)", redactURL(rawURL))
}

type closingUsers struct {
	UserStore
	close func() error
}

func (c *closingUsers) Close() error { return c.close() }

// connectMongo connects to MongoDB and returns the database named in the
// URL's path (default "authserver").
func connectMongo(ctx context.Context, rawURL string) (*mongo.Client, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("mongodb URL: %w", err)
	}
	db := strings.Trim(u.Path, "/")
	if db == "" {
		db = "authserver"
	}
	client, err := mongo.Connect(options.Client().ApplyURI(rawURL).SetServerSelectionTimeout(5 * time.Second))
	if err != nil {
		return nil, "", fmt.Errorf("mongodb: %w", err)
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
	return nil, fmt.Errorf("not a Redis URL: %q", redactURL(rawURL))
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

// redactURL hides the password of a URL for logs and errors.
func redactURL(raw string) string {
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
