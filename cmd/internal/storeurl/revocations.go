package storeurl

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/pgstore"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// DefaultRevocationsPrefix starts every Redis key of the reference app's
// cookie-store revocation list.
const DefaultRevocationsPrefix = "authserver:revoked:"

// openRevocations opens the cookie store's revocation list named by rawURL
// and adds what closes it to b:
//
//	"" or memory:                 in-process memory, one list per instance
//	sqlite:PATH                   SQLite file (default DataDir/revocations.db)
//	redis://…, redis+cluster://…  Redis, as for sessions
//	redis+sentinel://…
//	postgres://user:pass@host/db  PostgreSQL
//
// A shared list makes a logout or "sign out everywhere" hold on every
// instance that uses it, and across restarts.
func openRevocations(ctx context.Context, rawURL string, opts Options, b *Backend) (cookiestore.Revocations, error) {
	scheme, rest, _ := strings.Cut(rawURL, ":")
	switch strings.ToLower(scheme) {
	case "", "memory":
		return cookiestore.NewMemoryRevocations(nil), nil
	case "sqlite":
		if rest == "" {
			rest = filepath.Join(opts.DataDir, "revocations.db")
		}
		if err := CreatePrivate(rest); err != nil {
			return nil, err
		}
		r, err := sqlitestore.OpenRevocations(ctx, rest, sqlitestore.RevocationsOptions{CleanupInterval: opts.CleanupInterval, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		b.close = append(b.close, r.Close)
		return r, nil
	case "redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel":
		client, err := redisClient(ctx, rawURL, b)
		if err != nil {
			return nil, err
		}
		return redisstore.NewRevocations(client, redisstore.RevocationsOptions{Prefix: DefaultRevocationsPrefix})
	case "postgres", "postgresql":
		pool, err := postgresPool(ctx, rawURL, opts, b)
		if err != nil {
			return nil, err
		}
		r, err := pgstore.NewRevocations(ctx, pool, pgstore.RevocationsOptions{CleanupInterval: opts.CleanupInterval, Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		b.close = append(b.close, r.Close)
		return r, nil
	}
	return nil, badURL(fmt.Errorf("unknown revocation list %q (want memory:, sqlite:PATH, redis://, redis+cluster://, redis+sentinel:// or postgres://)", Redact(rawURL)))
}
