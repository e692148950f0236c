package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/cleanup"
	"github.com/sessionkit/sessionkit/remember"
)

// DefaultRememberTable is the name of the remember-me tokens table when
// RememberOptions.Table is empty.
const DefaultRememberTable = "sessionkit_remember"

// DefaultRememberSchema is the schema that NewRememberStore creates for
// DefaultRememberTable; RememberSchema returns it for another name. Times
// are Unix nanoseconds (UTC), 0 for the zero time; hashes are 32 bytes.
const DefaultRememberSchema = `CREATE TABLE IF NOT EXISTS sessionkit_remember (
	selector    TEXT PRIMARY KEY NOT NULL,
	user_id     TEXT NOT NULL,
	hash        BLOB NOT NULL,
	prev_hash   BLOB NOT NULL,
	grace_until INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	user_agent  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessionkit_remember_user_id_idx ON sessionkit_remember (user_id);
CREATE INDEX IF NOT EXISTS sessionkit_remember_expires_at_idx ON sessionkit_remember (expires_at);
`

var rememberColumns = []string{"selector", "user_id", "hash", "prev_hash", "grace_until", "created_at", "expires_at", "user_agent"}

// RememberSchema returns the SQL statements that create the remember-me
// tokens table named table and its indexes (table+"_user_id_idx",
// table+"_expires_at_idx"). NewRememberStore runs them too. table must be
// a plain SQL identifier, as for Schema.
func RememberSchema(table string) (string, error) {
	if err := checkTable(table); err != nil {
		return "", err
	}
	return strings.ReplaceAll(DefaultRememberSchema, DefaultRememberTable, table), nil
}

// RememberOptions configures a RememberStore. The zero value is ready to
// use.
type RememberOptions struct {
	// Table is the name of the tokens table. Default: DefaultRememberTable.
	Table string

	// CleanupInterval is how often a background goroutine deletes expired
	// tokens. Zero means DefaultCleanupInterval; a negative value disables
	// the goroutine (call DeleteExpired yourself).
	CleanupInterval time.Duration

	// Logger receives the errors of the cleanup goroutine.
	// Default: slog.Default().
	Logger *slog.Logger
}

// RememberStore is a remember.Store that keeps remember-me tokens in the
// database of a sessions Store, so that they survive a restart and are
// shared by every process that opens the file. Rotate is a conditional
// UPDATE on the current hash; expired tokens are deleted by a background
// goroutine. It is safe for concurrent use.
type RememberStore struct {
	s       *Store
	table   string
	cleanup *cleanup.Loop
}

var _ remember.Store = (*RememberStore)(nil)

// NewRememberStore returns a token store in the database of s, whose
// write lock it shares. It creates the table if it does not exist (see
// RememberSchema) and checks the columns of an existing one. Close it
// before s.
func NewRememberStore(ctx context.Context, s *Store, opts RememberOptions) (*RememberStore, error) {
	if s == nil {
		return nil, errors.New("sqlitestore: nil *Store")
	}
	table := opts.Table
	if table == "" {
		table = DefaultRememberTable
	}
	schema, err := RememberSchema(table)
	if err != nil {
		return nil, err
	}
	if err := s.checkColumns(ctx, table, rememberColumns); err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		for _, stmt := range statements(schema) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(ctx, "create remember schema", err)
	}
	r := &RememberStore{s: s, table: table}
	r.cleanup = cleanup.Config{
		Interval:        opts.CleanupInterval,
		DefaultInterval: DefaultCleanupInterval,
		Timeout:         cleanupTimeout,
		Logger:          opts.Logger,
		Message:         "sqlitestore: deleting expired remember-me tokens failed",
		Attrs:           []slog.Attr{slog.String("table", table)},
	}.Start(func(ctx context.Context) (int, error) { return r.DeleteExpired(ctx, time.Now()) })
	return r, nil
}

// Close stops the cleanup goroutine, waiting for a run in progress to end.
// It does not close the database. Further calls do nothing.
func (r *RememberStore) Close() error {
	r.cleanup.Stop()
	return nil
}

// Create implements remember.Store.
func (r *RememberStore) Create(ctx context.Context, t remember.Token) error {
	err := r.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO `+r.table+`
			(selector, user_id, hash, prev_hash, grace_until, created_at, expires_at, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (selector) DO NOTHING`,
			t.Selector, t.UserID, t.Hash[:], t.PrevHash[:], nanos(t.GraceUntil), nanos(t.CreatedAt), nanos(t.ExpiresAt), t.UserAgent)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return cmpErr(err, remember.ErrExists)
		}
		return nil
	})
	return r.s.wrap(ctx, "create remember token", err)
}

// Get implements remember.Store.
func (r *RememberStore) Get(ctx context.Context, selector string) (remember.Token, error) {
	t := remember.Token{Selector: selector}
	var hash, prev []byte
	var grace, created, expires int64
	err := r.s.db.QueryRowContext(ctx, `SELECT user_id, hash, prev_hash, grace_until, created_at, expires_at, user_agent
		FROM `+r.table+` WHERE selector = ?`, selector).
		Scan(&t.UserID, &hash, &prev, &grace, &created, &expires, &t.UserAgent)
	if errors.Is(err, sql.ErrNoRows) {
		return remember.Token{}, remember.ErrNotFound
	}
	if err != nil {
		return remember.Token{}, r.s.wrap(ctx, "get remember token", err)
	}
	if len(hash) != len(t.Hash) || len(prev) != len(t.PrevHash) {
		return remember.Token{}, errors.New("sqlitestore: get remember token: malformed hash column")
	}
	copy(t.Hash[:], hash)
	copy(t.PrevHash[:], prev)
	t.GraceUntil, t.CreatedAt, t.ExpiresAt = fromNanos(grace), fromNanos(created), fromNanos(expires)
	return t, nil
}

// Rotate implements remember.Store with an UPDATE conditional on the
// current hash.
func (r *RememberStore) Rotate(ctx context.Context, selector string, oldHash, newHash [32]byte, graceUntil time.Time) error {
	err := r.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE `+r.table+` SET prev_hash = hash, hash = ?, grace_until = ?
			WHERE selector = ? AND hash = ?`, newHash[:], nanos(graceUntil), selector, oldHash[:])
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM `+r.table+` WHERE selector = ?`, selector).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return remember.ErrNotFound
		}
		return cmpErr(err, remember.ErrConflict)
	})
	return r.s.wrap(ctx, "rotate remember token", err)
}

// Delete implements remember.Store.
func (r *RememberStore) Delete(ctx context.Context, selector string) error {
	_, err := r.exec(ctx, "delete remember token", `DELETE FROM `+r.table+` WHERE selector = ?`, selector)
	return err
}

// DeleteUser implements remember.Store.
func (r *RememberStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	return r.exec(ctx, "delete remember tokens of user", `DELETE FROM `+r.table+` WHERE user_id = ?`, userID)
}

// DeleteExpired implements remember.Store. The cleanup goroutine calls it
// every CleanupInterval with time.Now.
func (r *RememberStore) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := r.exec(ctx, "delete expired remember tokens", `DELETE FROM `+r.table+` WHERE selector IN (
			SELECT selector FROM `+r.table+` WHERE expires_at <= ? LIMIT ?)`, nanos(now), cleanupBatch)
		total += n
		if err != nil || n < cleanupBatch {
			return total, err
		}
	}
}

// exec runs one statement in a write transaction and returns how many rows
// it changed.
func (r *RememberStore) exec(ctx context.Context, op, query string, args ...any) (int, error) {
	var n int64
	err := r.s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), r.s.wrap(ctx, op, err)
}

// cmpErr returns err, or else fallback: the outcome of a statement that
// changed no row.
func cmpErr(err, fallback error) error {
	if err != nil {
		return fmt.Errorf("rows affected: %w", err)
	}
	return fallback
}
