package pgstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sessionkit/sessionkit/cleanup"
	"github.com/sessionkit/sessionkit/remember"
)

// DefaultRememberTable is the name of the remember-me tokens table when
// RememberOptions.Table is empty.
const DefaultRememberTable = "sessionkit_remember"

// DefaultRememberSchema is the schema that NewRememberStore creates for
// DefaultRememberTable; RememberSchema returns it for another name.
const DefaultRememberSchema = `CREATE TABLE IF NOT EXISTS sessionkit_remember (
	selector    text COLLATE "C" PRIMARY KEY,
	user_id     text NOT NULL,
	hash        bytea NOT NULL,
	prev_hash   bytea NOT NULL,
	grace_until timestamptz NOT NULL,
	created_at  timestamptz NOT NULL,
	expires_at  timestamptz NOT NULL,
	user_agent  text NOT NULL
);
CREATE INDEX IF NOT EXISTS sessionkit_remember_user_id_idx ON sessionkit_remember (user_id);
CREATE INDEX IF NOT EXISTS sessionkit_remember_expires_at_idx ON sessionkit_remember (expires_at);
`

var rememberColumns = []column{
	{"selector", textTypes},
	{"user_id", textTypes},
	{"hash", []string{"bytea"}},
	{"prev_hash", []string{"bytea"}},
	{"grace_until", timeTypes},
	{"created_at", timeTypes},
	{"expires_at", timeTypes},
	{"user_agent", textTypes},
}

// RememberSchema returns the SQL statements that create the remember-me
// tokens table named table and its indexes (table+"_user_id_idx",
// table+"_expires_at_idx"). NewRememberStore runs them too. table follows
// the rules of Schema.
func RememberSchema(table string) (string, error) {
	t, err := parseTable(table)
	if err != nil {
		return "", err
	}
	return t.rememberSQL(), nil
}

func (t tableName) rememberSQL() string {
	r := strings.NewReplacer(
		"sessionkit_remember_user_id_idx", t.name+"_user_id_idx",
		"sessionkit_remember_expires_at_idx", t.name+"_expires_at_idx",
		"sessionkit_remember", t.sessions(),
	)
	return r.Replace(DefaultRememberSchema)
}

// RememberOptions configures a RememberStore. The zero value is ready to
// use.
type RememberOptions struct {
	// Table is the name of the tokens table, optionally qualified by a
	// schema. Default: DefaultRememberTable.
	Table string

	// CleanupInterval is how often a background goroutine deletes expired
	// tokens. Zero means DefaultCleanupInterval; a negative value disables
	// the goroutine (call DeleteExpired yourself).
	CleanupInterval time.Duration

	// Logger receives the errors of the cleanup goroutine.
	// Default: slog.Default().
	Logger *slog.Logger
}

// RememberStore is a remember.Store that keeps remember-me tokens in
// PostgreSQL, beside the sessions, so that they survive a restart and are
// shared by every instance. Rotate is one UPDATE conditional on the current
// hash, so of parallel rotations exactly one wins; expired tokens are
// deleted by a background goroutine. It is safe for concurrent use.
type RememberStore struct {
	s       *Store
	table   string
	cleanup *cleanup.Loop
}

var _ remember.Store = (*RememberStore)(nil)

// NewRememberStore returns a token store in the database of s. It creates
// the table if it does not exist (see RememberSchema) and checks the
// columns of an existing one. Close it when done.
func NewRememberStore(ctx context.Context, s *Store, opts RememberOptions) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("pgstore: nil *Store")
	}
	table := opts.Table
	if table == "" {
		table = DefaultRememberTable
	}
	t, err := parseTable(table)
	if err != nil {
		return nil, err
	}
	if err := s.createTables(ctx, t.rememberSQL(), tableColumns{t.sessions(), rememberColumns}); err != nil {
		return nil, err
	}
	r := &RememberStore{s: s, table: t.sessions()}
	r.cleanup = cleanup.Config{
		Interval:        opts.CleanupInterval,
		DefaultInterval: DefaultCleanupInterval,
		Timeout:         cleanupTimeout,
		Logger:          opts.Logger,
		Message:         "pgstore: deleting expired remember-me tokens failed",
		Attrs:           []slog.Attr{slog.String("table", r.table)},
	}.Start(func(ctx context.Context) (int, error) { return r.DeleteExpired(ctx, time.Now()) })
	return r, nil
}

// Close stops the cleanup goroutine, waiting for a run in progress to end.
// It does not close the pool. Further calls do nothing.
func (r *RememberStore) Close() error {
	r.cleanup.Stop()
	return nil
}

// Create implements remember.Store.
func (r *RememberStore) Create(ctx context.Context, t remember.Token) error {
	if !validID(t.Selector) || !validID(t.UserID) || !validID(t.UserAgent) {
		return errors.New("pgstore: create remember token: selector, user ID or user agent is not valid UTF-8 without NUL")
	}
	tag, err := r.s.pool.Exec(ctx, `INSERT INTO `+r.table+`
		(selector, user_id, hash, prev_hash, grace_until, created_at, expires_at, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (selector) DO NOTHING`,
		t.Selector, t.UserID, t.Hash[:], t.PrevHash[:], t.GraceUntil, t.CreatedAt, t.ExpiresAt, t.UserAgent)
	if err != nil {
		return wrap(ctx, "create remember token", err)
	}
	if tag.RowsAffected() == 0 {
		return remember.ErrExists
	}
	return nil
}

// Get implements remember.Store.
func (r *RememberStore) Get(ctx context.Context, selector string) (remember.Token, error) {
	if err := ctx.Err(); err != nil {
		return remember.Token{}, wrap(ctx, "get remember token", err)
	}
	if !validID(selector) {
		return remember.Token{}, remember.ErrNotFound
	}
	t := remember.Token{Selector: selector}
	var hash, prev []byte
	err := r.s.pool.QueryRow(ctx, `SELECT user_id, hash, prev_hash, grace_until, created_at, expires_at, user_agent
		FROM `+r.table+` WHERE selector = $1`, selector).
		Scan(&t.UserID, &hash, &prev, &t.GraceUntil, &t.CreatedAt, &t.ExpiresAt, &t.UserAgent)
	if errors.Is(err, pgx.ErrNoRows) {
		return remember.Token{}, remember.ErrNotFound
	}
	if err != nil {
		return remember.Token{}, wrap(ctx, "get remember token", err)
	}
	if len(hash) != len(t.Hash) || len(prev) != len(t.PrevHash) {
		return remember.Token{}, errors.New("pgstore: get remember token: malformed hash column")
	}
	copy(t.Hash[:], hash)
	copy(t.PrevHash[:], prev)
	return t, nil
}

// Rotate implements remember.Store with one UPDATE conditional on the
// current hash: a concurrent UPDATE of the row waits for the first to
// commit and then finds the hash changed.
func (r *RememberStore) Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	if !validID(selector) {
		return remember.ErrNotFound
	}
	var rotated, exists bool
	err := r.s.pool.QueryRow(ctx, `WITH u AS (
			UPDATE `+r.table+` SET prev_hash = hash, hash = $2, grace_until = $3
			WHERE selector = $1 AND hash = $4 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM `+r.table+` WHERE selector = $1)`,
		selector, newHash[:], graceUntil, oldHash[:]).Scan(&rotated, &exists)
	switch {
	case err != nil:
		return wrap(ctx, "rotate remember token", err)
	case rotated:
		return nil
	case exists:
		return remember.ErrConflict
	}
	return remember.ErrNotFound
}

// Delete implements remember.Store.
func (r *RememberStore) Delete(ctx context.Context, selector string) error {
	if !validID(selector) {
		return ctx.Err()
	}
	_, err := r.exec(ctx, "delete remember token", `DELETE FROM `+r.table+` WHERE selector = $1`, selector)
	return err
}

// DeleteUser implements remember.Store.
func (r *RememberStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	if !validID(userID) {
		return 0, ctx.Err()
	}
	return r.exec(ctx, "delete remember tokens of user", `DELETE FROM `+r.table+` WHERE user_id = $1`, userID)
}

// DeleteExpired implements remember.Store. The cleanup goroutine calls it
// every CleanupInterval with time.Now. Several instances may run it at
// once: each skips the rows another has locked.
func (r *RememberStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := r.exec(ctx, "delete expired remember tokens", `DELETE FROM `+r.table+` WHERE selector IN (
			SELECT selector FROM `+r.table+` WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, now, cleanupBatch)
		total += n
		if err != nil || n < cleanupBatch {
			return total, err
		}
	}
}

// exec runs one statement and returns how many rows it changed.
func (r *RememberStore) exec(ctx context.Context, op, query string, args ...any) (int, error) {
	tag, err := r.s.pool.Exec(ctx, query, args...)
	if err != nil {
		return 0, wrap(ctx, op, err)
	}
	return int(tag.RowsAffected()), nil
}
