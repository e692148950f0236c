package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cleanup"
)

// DefaultRevocationsTable is the table of Revocations when
// RevocationsOptions.Table is empty.
const DefaultRevocationsTable = "sessionkit_revocations"

// RevocationsSchema is the schema that NewRevocations creates, for
// DefaultRevocationsTable. A row's key is "s:" and a session ID (a revoked
// session) or "u:" and a user ID (the user's sessions created before
// not_before, in Unix nanoseconds, are revoked); expires_at, in Unix
// nanoseconds, is when the row may be deleted.
const RevocationsSchema = `CREATE TABLE IF NOT EXISTS sessionkit_revocations (
	key        TEXT PRIMARY KEY,
	not_before INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessionkit_revocations_expires_at_idx ON sessionkit_revocations (expires_at);
`

// revocationColumns are the columns NewRevocations requires of an existing
// table.
var revocationColumns = []string{"key", "not_before", "expires_at"}

// RevocationsOptions configures Revocations.
type RevocationsOptions struct {
	// Table is the table's name. Empty means DefaultRevocationsTable.
	Table string

	// CleanupInterval is how often a background goroutine deletes the
	// entries whose deadline has passed. Zero means
	// DefaultCleanupInterval; a negative value disables the goroutine
	// (call Purge yourself).
	CleanupInterval time.Duration

	// BusyTimeout is as Options.BusyTimeout; only OpenRevocations uses it.
	BusyTimeout time.Duration

	// Logger receives the errors of the cleanup goroutine.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Revocations is a cookiestore.Revocations kept in a SQLite table, shared
// by every process that opens the same database file and surviving their
// restarts. Plug it into cookiestore.Options.Revocations. Expired entries
// are deleted by a background goroutine (package cleanup), as sessions are
// by a Store; Close stops it.
//
// Revoked runs one indexed query. It fails closed: when the database cannot
// be used it returns an error wrapping sessionkit.ErrUnavailable, and the
// cookie store refuses the cookie. Deadlines are compared with this
// process's clock.
type Revocations struct {
	// st is a Store without session tables, for its write lock, error
	// classification and Close.
	st    *Store
	table string
}

// OpenRevocations opens (creating it if needed) the SQLite database file at
// path as Open does, and returns a Revocations that owns it: Close closes
// it.
func OpenRevocations(ctx context.Context, path string, opts RevocationsOptions) (*Revocations, error) {
	db, err := openDB(path, opts.BusyTimeout)
	if err != nil {
		return nil, err
	}
	r, err := newRevocations(ctx, db, true, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return r, nil
}

// NewRevocations returns a Revocations that uses db, which must be a
// modernc.org/sqlite database, creating its table if it does not exist
// (see RevocationsSchema). The caller owns db: Close does not close it.
func NewRevocations(ctx context.Context, db *sql.DB, opts RevocationsOptions) (*Revocations, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: nil *sql.DB")
	}
	return newRevocations(ctx, db, false, opts)
}

func newRevocations(ctx context.Context, db *sql.DB, own bool, opts RevocationsOptions) (*Revocations, error) {
	table := opts.Table
	if table == "" {
		table = DefaultRevocationsTable
	}
	if err := checkTable(table); err != nil {
		return nil, err
	}
	r := &Revocations{st: &Store{db: db, ownDB: own, wlock: make(chan struct{}, 1)}, table: table}
	if err := r.st.checkColumns(ctx, table, revocationColumns); err != nil {
		return nil, err
	}
	schema := strings.ReplaceAll(RevocationsSchema, DefaultRevocationsTable, table)
	err := r.st.write(ctx, func(tx *sql.Tx) error {
		for _, stmt := range statements(schema) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, r.st.wrap(ctx, "create revocations table", err)
	}
	r.st.cleanup = cleanup.Config{
		Interval:        opts.CleanupInterval,
		DefaultInterval: DefaultCleanupInterval,
		Timeout:         cleanupTimeout,
		Logger:          opts.Logger,
		Message:         "sqlitestore: purging revocations failed",
		Attrs:           []slog.Attr{slog.String("table", table)},
	}.Start(r.Purge)
	return r, nil
}

// Close stops the cleanup goroutine, waiting for a run in progress to end,
// and closes the database if OpenRevocations opened it. Further calls do
// nothing.
func (r *Revocations) Close() error {
	return r.st.Close()
}

// Revoked reports whether rec's session, or its user's sessions created
// before rec.CreatedAt, were revoked, with one query.
func (r *Revocations) Revoked(ctx context.Context, rec *sessionkit.Record) (bool, error) {
	rows, err := r.st.db.QueryContext(ctx, `SELECT key, not_before FROM `+r.table+` WHERE key IN (?, ?)`,
		"s:"+rec.ID, "u:"+rec.UserID)
	if err != nil {
		return false, r.st.wrap(ctx, "check revocation", err)
	}
	defer rows.Close()
	revoked := false
	for rows.Next() {
		var key string
		var notBefore int64
		if err := rows.Scan(&key, &notBefore); err != nil {
			return false, r.st.wrap(ctx, "check revocation", err)
		}
		if strings.HasPrefix(key, "s:") || (rec.UserID != "" && nanos(rec.CreatedAt) < notBefore) {
			revoked = true
		}
	}
	if err := rows.Err(); err != nil {
		return false, r.st.wrap(ctx, "check revocation", err)
	}
	return revoked, nil
}

// Revoke revokes the session id until until.
func (r *Revocations) Revoke(ctx context.Context, id, userID string, until time.Time) error {
	return r.keep(ctx, "revoke", "s:"+id, 0, until)
}

// RevokeUser revokes the sessions of userID created before before, until
// until.
func (r *Revocations) RevokeUser(ctx context.Context, userID string, before, until time.Time) error {
	return r.keep(ctx, "revoke user", "u:"+userID, nanos(before), until)
}

// keep writes the row key, keeping the larger not_before and expires_at of
// the old and new row, so that no later call weakens an entry.
func (r *Revocations) keep(ctx context.Context, op, key string, notBefore int64, until time.Time) error {
	err := r.st.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO `+r.table+` (key, not_before, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET not_before = max(not_before, excluded.not_before),
				expires_at = max(expires_at, excluded.expires_at)`,
			key, notBefore, nanos(until))
		return err
	})
	return r.st.wrap(ctx, op, err)
}

// Purge deletes the entries whose deadline has passed by this process's
// clock and returns how many it deleted. The cleanup goroutine calls it
// every CleanupInterval.
func (r *Revocations) Purge(ctx context.Context) (int, error) {
	var n int64
	err := r.st.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+r.table+` WHERE expires_at <= ?`, nanos(time.Now()))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), r.st.wrap(ctx, "purge revocations", err)
}
