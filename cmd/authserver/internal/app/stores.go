package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/sessionkit/sessionkit/cmd/internal/storeurl"
	"github.com/sessionkit/sessionkit/remember"
)

// SessionBackend is an opened session store: exactly one of Store and
// ClientStore is set.
type SessionBackend = storeurl.Backend

// defaultDBPath returns dataDir/name.
func defaultDBPath(dataDir, name string) string { return filepath.Join(dataDir, name) }

// SessionOptions configures OpenSessions: the data directory, the cookie
// store's cookie name (bound into its values), keys, revocation list URL
// and longest session lifetime, and the cleanup logger.
type SessionOptions = storeurl.Options

// OpenSessions opens the session store named by rawURL, in the forms that
// package storeurl documents (the empty URL is DATA/sessions.db).
func OpenSessions(ctx context.Context, rawURL string, opts SessionOptions) (*SessionBackend, error) {
	return storeurl.Open(ctx, rawURL, opts)
}

// OpenRemember returns the store of remember-me tokens for the session
// backend b: b's own, in the same backend as the sessions. The cookie:
// store keeps no server state, so its tokens go to the backend of the user
// store (usersURL, as OpenUsers reads it), in a table or collection of their
// own, beside an unused sessions table: they survive restarts and are shared
// by instances exactly as the accounts are. close releases what
// OpenRemember opened.
func OpenRemember(ctx context.Context, b *SessionBackend, usersURL, dataDir string, log *slog.Logger) (rm remember.Store, close func() error, err error) {
	if b.Remember != nil || b.ClientStore == nil {
		return b.Remember, func() error { return nil }, nil
	}
	if scheme, rest, _ := strings.Cut(usersURL, ":"); usersURL == "" || strings.EqualFold(scheme, "sqlite") && rest == "" {
		usersURL = "sqlite:" + defaultDBPath(dataDir, "users.db")
	}
	ub, err := storeurl.Open(ctx, usersURL, storeurl.Options{DataDir: dataDir, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("remember-me tokens in the user store: %w", err)
	}
	return ub.Remember, ub.Close, nil
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
		client, db, err := storeurl.ConnectMongo(ctx, rawURL)
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

// redactURL hides the password of a URL for logs and errors.
func redactURL(raw string) string { return storeurl.Redact(raw) }
