package pgstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cleanup"
)

// DefaultRevocationsTable is the table of Revocations when
// RevocationsOptions.Table is empty.
const DefaultRevocationsTable = "sessionkit_revocations"

// RevocationsSchema is the schema that NewRevocations creates, for
// DefaultRevocationsTable. A row's key is "s:" and a session ID (a revoked
// session) or "u:" and a user ID (the user's sessions created before
// not_before, in Unix nanoseconds so that the cutoff compares exactly with
// a session's creation time, are revoked); expires_at is when the row may
// be deleted.
const RevocationsSchema = `CREATE TABLE IF NOT EXISTS sessionkit_revocations (
	key        text COLLATE "C" PRIMARY KEY,
	not_before bigint NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessionkit_revocations_expires_at_idx ON sessionkit_revocations (expires_at);
`

// revocationColumns are the columns NewRevocations requires of an existing
// table.
var revocationColumns = []column{
	{"key", textTypes},
	{"not_before", []string{"bigint"}},
	{"expires_at", timeTypes},
}

// RevocationsOptions configures Revocations.
type RevocationsOptions struct {
	// Table is the table's name, optionally qualified by a schema, as
	// Options.Table. Empty means DefaultRevocationsTable.
	Table string

	// CleanupInterval is how often a background goroutine deletes the
	// entries whose deadline has passed. Zero means
	// DefaultCleanupInterval; a negative value disables the goroutine
	// (call Purge yourself).
	CleanupInterval time.Duration

	// Logger receives the errors of the cleanup goroutine.
	// Default: slog.Default().
	Logger *slog.Logger
}

// Revocations is a cookiestore.Revocations kept in a PostgreSQL table,
// shared by every app instance that uses the same database and surviving
// their restarts. Plug it into cookiestore.Options.Revocations. Expired
// entries are deleted by a background goroutine (package cleanup), as
// sessions are by a Store; Close stops it.
//
// Revoked runs one indexed query, one round trip. It fails closed: when the
// database cannot be reached it returns an error wrapping
// sessionkit.ErrUnavailable, and the cookie store refuses the cookie.
// Deadlines are compared with this process's clock, never the database's.
type Revocations struct {
	pool    *pgxpool.Pool
	table   string
	cleanup *cleanup.Loop
}

// NewRevocations returns a Revocations that uses pool, creating its table
// if it does not exist (see RevocationsSchema) and checking the columns of
// an existing one. When the database cannot be reached, the error wraps
// sessionkit.ErrUnavailable. The caller owns pool: Close does not close it.
func NewRevocations(ctx context.Context, pool *pgxpool.Pool, opts RevocationsOptions) (*Revocations, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil *pgxpool.Pool")
	}
	table := opts.Table
	if table == "" {
		table = DefaultRevocationsTable
	}
	t, err := parseTable(table)
	if err != nil {
		return nil, err
	}
	r := &Revocations{pool: pool, table: t.sessions()}
	if err := (&Store{pool: pool}).checkColumns(ctx, r.table, revocationColumns); err != nil {
		return nil, err
	}
	schema := strings.NewReplacer(
		"sessionkit_revocations_expires_at_idx", t.name+"_expires_at_idx",
		"sessionkit_revocations", r.table,
	).Replace(RevocationsSchema)
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "sessionkit:"+r.table); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		return nil, wrap(ctx, "create revocations table", err)
	}
	r.cleanup = cleanup.Config{
		Interval:        opts.CleanupInterval,
		DefaultInterval: DefaultCleanupInterval,
		Timeout:         cleanupTimeout,
		Logger:          opts.Logger,
		Message:         "pgstore: purging revocations failed",
		Attrs:           []slog.Attr{slog.String("table", r.table)},
	}.Start(r.Purge)
	return r, nil
}

// Close stops the cleanup goroutine, waiting for a run in progress to end.
// It does not close the pool. Further calls do nothing.
func (r *Revocations) Close() error {
	r.cleanup.Stop()
	return nil
}

// Revoked reports whether rec's session, or its user's sessions created
// before rec.CreatedAt, were revoked, with one query.
func (r *Revocations) Revoked(ctx context.Context, rec *sessionkit.Record) (bool, error) {
	var revoked bool
	err := r.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+r.table+`
		WHERE key = $1 OR (key = $2 AND $3 AND not_before > $4))`,
		"s:"+rec.ID, "u:"+rec.UserID, rec.UserID != "", rec.CreatedAt.UnixNano()).Scan(&revoked)
	if err != nil {
		return false, wrap(ctx, "check revocation", err)
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
	return r.keep(ctx, "revoke user", "u:"+userID, before.UnixNano(), until)
}

// keep writes the row key, keeping the larger not_before and expires_at of
// the old and new row, so that no later call weakens an entry.
func (r *Revocations) keep(ctx context.Context, op, key string, notBefore int64, until time.Time) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO `+r.table+` AS t (key, not_before, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET not_before = GREATEST(t.not_before, EXCLUDED.not_before),
			expires_at = GREATEST(t.expires_at, EXCLUDED.expires_at)`,
		key, notBefore, until)
	return wrap(ctx, op, err)
}

// Purge deletes the entries whose deadline has passed by this process's
// clock and returns how many it deleted. The cleanup goroutine calls it
// every CleanupInterval; several instances may run it at once.
func (r *Revocations) Purge(ctx context.Context) (int, error) {
	tag, err := r.pool.Exec(ctx, `DELETE FROM `+r.table+` WHERE expires_at <= $1`, time.Now())
	if err != nil {
		return 0, wrap(ctx, "purge revocations", err)
	}
	return int(tag.RowsAffected()), nil
}
