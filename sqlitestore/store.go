// Package sqlitestore is a sessionkit.Store that keeps sessions in a SQLite
// database, through the pure-Go driver modernc.org/sqlite (no cgo).
//
// Sessions live in two tables: one row per session, and one row per session
// value, so that an update writes only the keys that a request changed and
// overlapping requests that change different keys both survive. See Schema
// for the layout.
//
// Open opens a database file in WAL mode with a busy timeout. The store
// serialises its own writes, so many goroutines may write at once; other
// processes writing to the same file wait for the busy timeout.
//
// The store has no clock: the manager decides by its own clock whether a
// session has expired, so Load, ListByUser and Iterate return sessions
// whatever their expiry. Expired sessions are deleted by DeleteExpired, run
// by a background goroutine, as garbage collection, once they have been
// expired for Options.KeepExpired (sessionkit.DefaultKeepExpired by
// default): until then Manager.Sweep finds them through Iterate, removes
// them and reports their expiry.
//
// A Store also implements sessionkit.Remover (Remove reports whether the
// call deleted the session, so that of several instances ending one
// session only one reports its end), sessionkit.UserIndex,
// sessionkit.Iterator and sessionkit.SessionLimiter
// (Config.MaxSessionsPerUser): LinkUser counts and links in one write
// transaction, which holds SQLite's write lock from its first statement, so
// links serialise across every process that shares the database file.
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cleanup"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DefaultCleanupInterval is how often expired sessions are deleted when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

// DefaultBusyTimeout is how long Open makes a connection wait for a lock
// held by another connection or process before failing with SQLITE_BUSY.
const DefaultBusyTimeout = 5 * time.Second

// cleanupBatch is how many expired sessions DeleteExpired removes in one
// transaction, so that it never holds the write lock for long.
const cleanupBatch = 500

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Table is the name of the sessions table; the values table is named
	// Table+"_values". It must be a plain identifier (see Schema).
	// Default: DefaultTable.
	Table string

	// CleanupInterval is how often a background goroutine deletes expired
	// sessions. Zero means DefaultCleanupInterval; a negative value
	// disables the goroutine (call DeleteExpired yourself).
	CleanupInterval time.Duration

	// BusyTimeout is how long Open makes a connection wait for a lock held
	// by another process. Default: DefaultBusyTimeout. New ignores it:
	// configure your own *sql.DB (the "_pragma=busy_timeout(5000)" DSN
	// parameter).
	BusyTimeout time.Duration

	// KeepExpired is how long an expired session stays in the table
	// before DeleteExpired deletes it, so that Manager.Sweep can still
	// find it and report its expiry. Zero means
	// sessionkit.DefaultKeepExpired (5 minutes); a negative value means no
	// retention: a session may be deleted as soon as it expires. Run
	// Manager.Sweep more often than this.
	KeepExpired time.Duration

	// Logger receives the errors of the cleanup goroutine.
	// Default: slog.Default().
	Logger *slog.Logger
}

// cleanupTimeout bounds one pass of the cleanup goroutine.
const cleanupTimeout = time.Minute

// Store is a sessionkit.Store backed by SQLite. It is safe for concurrent
// use. Close it when done.
type Store struct {
	db     *sql.DB
	ownDB  bool
	table  string
	values string
	keep   time.Duration // how long DeleteExpired keeps an expired session

	// wlock serialises the store's writes, so that goroutines of one
	// process queue here (honouring their contexts) instead of failing
	// with SQLITE_BUSY.
	wlock chan struct{}

	cleanup   *cleanup.Loop
	closeOnce sync.Once
}

var (
	_ sessionkit.Store     = (*Store)(nil)
	_ sessionkit.UserIndex = (*Store)(nil)
	_ sessionkit.Iterator  = (*Store)(nil)
	_ sessionkit.Remover   = (*Store)(nil)

	_ sessionkit.SessionLimiter = (*Store)(nil)
)

// Open opens (creating it if needed) the SQLite database file at path, with
// WAL journaling, a busy timeout, foreign keys on and synchronous=NORMAL,
// and returns a store using it. The store owns the database: Close closes
// it.
//
// path is a file name, without URI parameters. The special name ":memory:"
// gives a private in-memory database, which does not survive Close.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	db, err := openDB(path, opts.BusyTimeout)
	if err != nil {
		return nil, err
	}
	s, err := newStore(ctx, db, true, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens the database file at path as Open describes, with the busy
// timeout busy (DefaultBusyTimeout if not positive).
func openDB(path string, busy time.Duration) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty database path")
	}
	if strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: database path %q must be a plain file name; to use URI parameters, open the *sql.DB yourself and call New", path)
	}
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	memory := path == ":memory:"
	if !memory {
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	// Readers run in parallel (WAL), writers one at a time. Bound the
	// connections, each with its own page cache, and keep them open, since
	// each new one runs the pragmas again.
	conns := max(4, 2*runtime.GOMAXPROCS(0))
	if memory {
		conns = 1 // every connection to ":memory:" is a separate database
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// New returns a store that uses db, which must be a modernc.org/sqlite
// database ("sqlite" driver). It creates the tables if they do not exist
// and checks the columns of existing ones. The caller owns db: Close does
// not close it.
//
// For the guarantees that Open gives, open db with WAL journaling and a
// busy timeout, for example with the DSN
// "sessions.db?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)".
func New(ctx context.Context, db *sql.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: nil *sql.DB")
	}
	return newStore(ctx, db, false, opts)
}

func newStore(ctx context.Context, db *sql.DB, own bool, opts Options) (*Store, error) {
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	if err := checkTable(table); err != nil {
		return nil, err
	}
	s := &Store{
		db:     db,
		ownDB:  own,
		table:  table,
		values: table + "_values",
		keep:   cleanup.KeepExpired(opts.KeepExpired),
		wlock:  make(chan struct{}, 1),
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	s.cleanup = cleanup.Config{
		Interval:        opts.CleanupInterval,
		DefaultInterval: DefaultCleanupInterval,
		Timeout:         cleanupTimeout,
		Logger:          opts.Logger,
		Message:         "sqlitestore: deleting expired sessions failed",
		Attrs:           []slog.Attr{slog.String("table", s.table)},
	}.Start(s.DeleteExpired)
	return s, nil
}

// Close stops the cleanup goroutine, waiting for a run in progress to end,
// and closes the database if Open opened it. Further calls do nothing.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cleanup.Stop()
		if s.ownDB {
			err = s.db.Close()
		}
	})
	return err
}

// DeleteExpired deletes the sessions that expired at least
// Options.KeepExpired ago by this process's clock (time.Now) and returns
// how many it deleted. The cleanup goroutine calls it every
// CleanupInterval.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	before := nanos(time.Now().Add(-s.keep))
	total := 0
	for {
		n := 0
		err := s.write(ctx, func(tx *sql.Tx) error {
			// Every transaction of the store writes first, so that a
			// deferred transaction never has to upgrade a read lock.
			rows, err := tx.QueryContext(ctx, `DELETE FROM `+s.table+` WHERE id IN (
				SELECT id FROM `+s.table+` WHERE expires_at <= ? LIMIT ?) RETURNING id`,
				before, cleanupBatch)
			if err != nil {
				return err
			}
			ids, err := scanStrings(rows)
			if err != nil {
				return err
			}
			n = len(ids)
			return s.deleteValues(ctx, tx, ids)
		})
		if err != nil {
			return total, s.wrap(ctx, "delete expired", err)
		}
		total += n
		if n < cleanupBatch {
			return total, nil
		}
	}
}

// deleteValues deletes the values of the sessions ids. The values are
// deleted explicitly because the ON DELETE CASCADE of the schema only works
// on connections with foreign keys on, which New cannot ensure.
func (s *Store) deleteValues(ctx context.Context, tx *sql.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM `+s.values+`
		WHERE session_id IN (SELECT value FROM json_each(?))`, string(list))
	return err
}

// scanStrings reads a column of strings and closes rows.
func scanStrings(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	var list []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// Load returns the session with the given ID, or (nil, nil). It returns
// the session even if its expiry has passed: the manager decides.
func (s *Store) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT s.user_id, s.created_at, s.last_seen, s.expires_at,
		s.absolute_expiry, s.persistent, s.meta, v.key, v.value
		FROM `+s.table+` s LEFT JOIN `+s.values+` v ON v.session_id = s.id
		WHERE s.id = ?`, id)
	if err != nil {
		return nil, s.wrap(ctx, "load", err)
	}
	defer rows.Close()
	var rec *sessionkit.Record
	for rows.Next() {
		var (
			userID, meta, key      sql.NullString
			created, seen, exp, ab int64
			persistent             bool
			value                  []byte
		)
		if err := rows.Scan(&userID, &created, &seen, &exp, &ab, &persistent, &meta, &key, &value); err != nil {
			return nil, s.wrap(ctx, "load", err)
		}
		if rec == nil {
			rec = &sessionkit.Record{
				ID:             id,
				UserID:         userID.String,
				Values:         make(map[string][]byte),
				CreatedAt:      fromNanos(created),
				LastSeen:       fromNanos(seen),
				ExpiresAt:      fromNanos(exp),
				AbsoluteExpiry: fromNanos(ab),
				Persistent:     persistent,
			}
			if rec.Meta, err = decodeMeta(meta); err != nil {
				return nil, s.wrap(ctx, "load", err)
			}
		}
		if key.Valid {
			if value == nil {
				value = []byte{}
			}
			rec.Values[key.String] = value
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(ctx, "load", err)
	}
	return rec, nil
}

// Create inserts rec. It returns sessionkit.ErrExists when a session has
// the same ID, unless that session's expiry has passed by this process's
// clock: then it is replaced.
func (s *Store) Create(ctx context.Context, rec *sessionkit.Record) error {
	meta, err := encodeMeta(rec.Meta)
	if err != nil {
		return fmt.Errorf("sqlitestore: create: %w", err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO `+s.table+` AS s
			(id, user_id, created_at, last_seen, expires_at, absolute_expiry, persistent, meta)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id,
				created_at = excluded.created_at, last_seen = excluded.last_seen,
				expires_at = excluded.expires_at, absolute_expiry = excluded.absolute_expiry,
				persistent = excluded.persistent, meta = excluded.meta
			WHERE s.expires_at <= ?`,
			rec.ID, nullString(rec.UserID), nanos(rec.CreatedAt), nanos(rec.LastSeen),
			nanos(rec.ExpiresAt), nanos(rec.AbsoluteExpiry), rec.Persistent, meta, nanos(time.Now()))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sessionkit.ErrExists
		}
		// Drop the values of an expired session this one replaced.
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.values+` WHERE session_id = ?`, rec.ID); err != nil {
			return err
		}
		return s.setValues(ctx, tx, rec.ID, rec.Values)
	})
	return s.wrap(ctx, "create", err)
}

// Update applies d to the session id in one transaction, writing only the
// keys that d names. It returns sessionkit.ErrNotFound when the session
// does not exist.
func (s *Store) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	set := "last_seen = ?, expires_at = ?"
	args := []any{nanos(d.LastSeen), nanos(d.ExpiresAt)}
	if !d.AbsoluteExpiry.IsZero() {
		set += ", absolute_expiry = ?"
		args = append(args, nanos(d.AbsoluteExpiry))
	}
	if d.UserID != nil {
		set += ", user_id = ?"
		args = append(args, nullString(*d.UserID))
	}
	if d.Persistent != nil {
		set += ", persistent = ?"
		args = append(args, *d.Persistent)
	}
	args = append(args, id)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE `+s.table+` SET `+set+` WHERE id = ?`, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sessionkit.ErrNotFound
		}
		if d.Clear {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.values+` WHERE session_id = ?`, id); err != nil {
				return err
			}
		}
		if err := s.setValues(ctx, tx, id, d.Set); err != nil {
			return err
		}
		for _, k := range d.Del {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.values+` WHERE session_id = ? AND key = ?`, id, k); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap(ctx, "update", err)
}

// setValues writes values for session id, replacing existing keys.
func (s *Store) setValues(ctx context.Context, tx *sql.Tx, id string, values map[string][]byte) error {
	if len(values) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+s.values+` (session_id, key, value) VALUES (?, ?, ?)
		ON CONFLICT (session_id, key) DO UPDATE SET value = excluded.value`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for k, v := range values {
		if v == nil {
			v = []byte{} // the column is NOT NULL
		}
		if _, err := stmt.ExecContext(ctx, id, k, v); err != nil {
			return err
		}
	}
	return nil
}

// Touch sets the LastSeen and ExpiresAt of the session id without
// rewriting its values. It returns sessionkit.ErrNotFound when the session
// does not exist.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE `+s.table+` SET last_seen = ?, expires_at = ?
			WHERE id = ?`, nanos(lastSeen), nanos(expiresAt), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sessionkit.ErrNotFound
		}
		return nil
	})
	return s.wrap(ctx, "touch", err)
}

// Delete deletes the session id and its values. Deleting a missing session
// returns nil.
func (s *Store) Delete(ctx context.Context, id string) error {
	_, err := s.remove(ctx, "delete", id)
	return err
}

// Remove implements sessionkit.Remover: it deletes the session id as
// Delete does and reports whether this call deleted it. Of concurrent
// Removes of one session, from any number of stores on the database file,
// exactly one reports true: each runs in a write transaction, and SQLite
// runs those one at a time.
func (s *Store) Remove(ctx context.Context, id string) (bool, error) {
	return s.remove(ctx, "remove", id)
}

// remove is Delete and Remove, with op naming the operation in errors.
func (s *Store) remove(ctx context.Context, op, id string) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM `+s.table+` WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM `+s.values+` WHERE session_id = ?`, id)
		return err
	})
	if err != nil {
		return false, s.wrap(ctx, op, err)
	}
	return n > 0, nil
}

// LinkUser implements sessionkit.SessionLimiter in one transaction. Its
// first statement links the session, so the transaction holds the write
// lock before it counts: concurrent links, from this process or another,
// run one after the other and each sees the ones before it. A refusal
// rolls the link back.
func (s *Store) LinkUser(ctx context.Context, id, userID string, limit int, evict bool, now time.Time) ([]string, error) {
	var evicted []string
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE `+s.table+` SET user_id = ? WHERE id = ? AND expires_at > ?`,
			nullString(userID), id, nanos(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sessionkit.ErrNotFound
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM `+s.table+`
			WHERE user_id = ? AND id <> ? AND expires_at > ? ORDER BY created_at, id`,
			userID, id, nanos(now))
		if err != nil {
			return err
		}
		others, err := scanStrings(rows)
		if err != nil {
			return err
		}
		excess := len(others) - (limit - 1)
		if excess <= 0 {
			return nil
		}
		if !evict {
			return sessionkit.ErrTooManySessions
		}
		evicted = others[:excess]
		list, err := json.Marshal(evicted)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+s.table+`
			WHERE id IN (SELECT value FROM json_each(?))`, string(list)); err != nil {
			return err
		}
		return s.deleteValues(ctx, tx, evicted)
	})
	if err != nil {
		return nil, s.wrap(ctx, "link user", err)
	}
	return evicted, nil
}

const infoColumns = `id, user_id, created_at, last_seen, expires_at, persistent, meta`

// ListByUser returns the sessions of userID, oldest first, whatever their
// expiry. An empty userID has no sessions.
func (s *Store) ListByUser(ctx context.Context, userID string) ([]sessionkit.SessionInfo, error) {
	if userID == "" {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+infoColumns+` FROM `+s.table+`
		WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, s.wrap(ctx, "list by user", err)
	}
	infos, err := scanInfos(rows)
	return infos, s.wrap(ctx, "list by user", err)
}

// DeleteByUser deletes every session of userID except those whose IDs are
// in except, and returns how many live sessions it deleted (those expired by
// this process's clock are deleted too but not counted). An empty userID
// deletes nothing.
func (s *Store) DeleteByUser(ctx context.Context, userID string, except ...string) (int, error) {
	if userID == "" {
		return 0, nil
	}
	if except == nil {
		except = []string{}
	}
	keep, err := json.Marshal(except)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: delete by user: %w", err)
	}
	n := 0
	err = s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM `+s.table+`
			WHERE user_id = ? AND id NOT IN (SELECT value FROM json_each(?))
			RETURNING id, expires_at > ?`, userID, string(keep), nanos(time.Now()))
		if err != nil {
			return err
		}
		defer rows.Close()
		var ids []string
		for rows.Next() {
			var (
				id   string
				live bool
			)
			if err := rows.Scan(&id, &live); err != nil {
				return err
			}
			ids = append(ids, id)
			if live {
				n++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		return s.deleteValues(ctx, tx, ids)
	})
	if err != nil {
		return 0, s.wrap(ctx, "delete by user", err)
	}
	return n, nil
}

// DefaultPageSize is the page size Iterate uses when limit is not positive.
const DefaultPageSize = 100

// Iterate returns a page of at most limit sessions, in ID order and
// whatever their expiry, that follow cursor, and the cursor of the next page ("" at the end). A cursor
// is opaque; a malformed one is an error.
func (s *Store) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	after, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("sqlitestore: iterate: malformed cursor %q", cursor)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+infoColumns+` FROM `+s.table+`
		WHERE id > ? ORDER BY id LIMIT ?`, string(after), limit+1)
	if err != nil {
		return nil, "", s.wrap(ctx, "iterate", err)
	}
	page, err := scanInfos(rows)
	if err != nil {
		return nil, "", s.wrap(ctx, "iterate", err)
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(page[limit-1].ID))
	}
	return page, next, nil
}

// scanInfos reads rows of infoColumns and closes rows.
func scanInfos(rows *sql.Rows) ([]sessionkit.SessionInfo, error) {
	defer rows.Close()
	var infos []sessionkit.SessionInfo
	for rows.Next() {
		var (
			info                  sessionkit.SessionInfo
			userID, meta          sql.NullString
			created, seen, expire int64
		)
		if err := rows.Scan(&info.ID, &userID, &created, &seen, &expire, &info.Persistent, &meta); err != nil {
			return nil, err
		}
		info.UserID = userID.String
		info.CreatedAt, info.LastSeen, info.ExpiresAt = fromNanos(created), fromNanos(seen), fromNanos(expire)
		var err error
		if info.Meta, err = decodeMeta(meta); err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, rows.Err()
}

// write runs fn in a transaction while holding the store's write lock, and
// commits it when fn returns nil.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	select {
	case s.wlock <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wlock }()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// wrap annotates err with the operation and classifies it; it is the one
// place where the store decides what an error means. When the caller's
// context has ended, the error wraps the context's error
// (context.Canceled or context.DeadlineExceeded) and never
// sessionkit.ErrUnavailable: cancellation is not an outage. Otherwise
// errors that mean the database cannot be used right now (it cannot be
// opened, is locked by another process beyond the busy timeout, or an
// internal deadline passed) are marked with sessionkit.ErrUnavailable.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil || errors.Is(err, sessionkit.ErrNotFound) || errors.Is(err, sessionkit.ErrExists) ||
		errors.Is(err, sessionkit.ErrTooManySessions) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("sqlitestore: %s: %w", op, err)
		}
		return fmt.Errorf("sqlitestore: %s: %w (%v)", op, cerr, err)
	}
	if unavailable(err) {
		return fmt.Errorf("sqlitestore: %s: %w: %w", op, sessionkit.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlitestore: %s: %w", op, err)
}

// unavailable reports whether err, from a call whose context is still
// live, means that the database cannot be used right now.
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
			return true
		}
	}
	return false
}

// minNanos and maxNanos are the times that Unix nanoseconds can represent.
var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// nanos returns t as Unix nanoseconds, 0 for the zero time. Times beyond the
// years 1678 to 2262 are clamped.
func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func encodeMeta(m map[string]string) (sql.NullString, error) {
	if len(m) == 0 {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return sql.NullString{}, err
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

func decodeMeta(s sql.NullString) (map[string]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s.String), &m); err != nil {
		return nil, fmt.Errorf("decode meta: %w", err)
	}
	return m, nil
}
