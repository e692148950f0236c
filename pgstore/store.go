// Package pgstore is a sessionkit.Store that keeps sessions in PostgreSQL,
// through github.com/jackc/pgx/v5 and a *pgxpool.Pool.
//
// Sessions live in two tables: one row per session, and one row per session
// value, so that an update writes only the keys that a request changed and
// overlapping requests that change different keys both survive. An update
// locks the session's row, so it is serialised with a concurrent delete and
// never brings a deleted session back. See Schema for the layout.
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
// (Config.MaxSessionsPerUser): LinkUser counts and links in one
// transaction that holds a transaction-scoped advisory lock on the user, so
// links of one user serialise across every instance that shares the
// database.
package pgstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cleanup"
)

// DefaultCleanupInterval is how often expired sessions are deleted when
// Options.CleanupInterval is zero.
const DefaultCleanupInterval = 5 * time.Minute

// DefaultPageSize is the page size Iterate uses when limit is not positive.
const DefaultPageSize = 100

// cleanupBatch is how many expired sessions DeleteExpired removes in one
// statement, so that it never holds many locks for long.
const cleanupBatch = 1000

// Options configures a Store. The zero value is ready to use.
type Options struct {
	// Table is the name of the sessions table, optionally qualified by a
	// schema ("auth.sessions"); the values table is named Table+"_values".
	// See Schema. Default: DefaultTable.
	Table string

	// CleanupInterval is how often a background goroutine deletes expired
	// sessions. Zero means DefaultCleanupInterval; a negative value
	// disables the goroutine (call DeleteExpired yourself, or run it from
	// one instance only).
	CleanupInterval time.Duration

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

// Store is a sessionkit.Store backed by PostgreSQL. It is safe for
// concurrent use. Close it when done; the pool stays open.
type Store struct {
	pool *pgxpool.Pool
	t    tableName
	keep time.Duration // how long DeleteExpired keeps an expired session

	cleanup *cleanup.Loop
}

var (
	_ sessionkit.Store     = (*Store)(nil)
	_ sessionkit.UserIndex = (*Store)(nil)
	_ sessionkit.Iterator  = (*Store)(nil)
	_ sessionkit.Remover   = (*Store)(nil)

	_ sessionkit.SessionLimiter = (*Store)(nil)
)

// New returns a store that uses pool. It creates the tables and indexes if
// they do not exist (see Schema) and checks the columns of existing ones,
// so a table of the same name with another layout is reported here. When
// the database cannot be reached, the error wraps sessionkit.ErrUnavailable.
// The caller owns pool: Close does not close it.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil *pgxpool.Pool")
	}
	table := opts.Table
	if table == "" {
		table = DefaultTable
	}
	t, err := parseTable(table)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, t: t, keep: cleanup.KeepExpired(opts.KeepExpired)}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	s.cleanup = cleanup.Config{
		Interval:        opts.CleanupInterval,
		DefaultInterval: DefaultCleanupInterval,
		Timeout:         cleanupTimeout,
		Logger:          opts.Logger,
		Message:         "pgstore: deleting expired sessions failed",
		Attrs:           []slog.Attr{slog.String("table", s.t.sessions())},
	}.Start(s.DeleteExpired)
	return s, nil
}

// Close stops the cleanup goroutine, waiting for a run in progress to end.
// It does not close the pool. Further calls do nothing.
func (s *Store) Close() error {
	s.cleanup.Stop()
	return nil
}

// DeleteExpired deletes the sessions that expired at least
// Options.KeepExpired ago by this process's clock (time.Now; the
// database's clock is never used) and returns how many it deleted. The
// cleanup goroutine calls it every CleanupInterval. Several instances may
// run it at once: each skips the rows another has locked.
func (s *Store) DeleteExpired(ctx context.Context) (int, error) {
	before := time.Now().Add(-s.keep)
	total := 0
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.t.sessions()+` WHERE id IN (
			SELECT id FROM `+s.t.sessions()+` WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
			before, cleanupBatch)
		if err != nil {
			return total, wrap(ctx, "delete expired", err)
		}
		n := int(tag.RowsAffected())
		total += n
		if n < cleanupBatch {
			return total, nil
		}
	}
}

// validID reports whether id could be stored: PostgreSQL text holds only
// valid UTF-8 without NUL bytes. Other IDs are never found.
func validID(id string) bool {
	return utf8.ValidString(id) && !strings.ContainsRune(id, 0)
}

// Load returns the session with the given ID, or (nil, nil). It returns
// the session even if its expiry has passed: the manager decides.
func (s *Store) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, "load", err)
	}
	if !validID(id) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT s.user_id, s.created_at, s.last_seen, s.expires_at,
		s.absolute_expiry, s.persistent, s.meta, v.key, v.value
		FROM `+s.t.sessions()+` s LEFT JOIN `+s.t.values()+` v ON v.session_id = s.id
		WHERE s.id = $1`, id)
	if err != nil {
		return nil, wrap(ctx, "load", err)
	}
	var (
		rec                         *sessionkit.Record
		userID, key                 *string
		created, seen, exp, absolut time.Time
		persistent                  bool
		meta, value                 []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&userID, &created, &seen, &exp, &absolut, &persistent, &meta, &key, &value}, func() error {
		if rec == nil {
			rec = &sessionkit.Record{
				ID:             id,
				Values:         make(map[string][]byte),
				CreatedAt:      created,
				LastSeen:       seen,
				ExpiresAt:      exp,
				AbsoluteExpiry: absolut,
				Persistent:     persistent,
			}
			if userID != nil {
				rec.UserID = *userID
			}
			var err error
			if rec.Meta, err = decodeMeta(meta); err != nil {
				return err
			}
		}
		if key != nil {
			if value == nil {
				value = []byte{}
			}
			rec.Values[*key] = value
		}
		return nil
	})
	if err != nil {
		return nil, wrap(ctx, "load", err)
	}
	return rec, nil
}

// Create inserts rec. It returns sessionkit.ErrExists when a session has
// the same ID, unless that session's expiry has passed by this process's
// clock: then it is replaced.
//
// It is one statement, so one round trip and atomic: the session row is
// inserted (or replaces an expired one), the old values that the new record
// does not set are deleted, and the new values are written. The DELETE and
// the upsert never touch the same row, as one statement must not change a
// row twice.
func (s *Store) Create(ctx context.Context, rec *sessionkit.Record) error {
	if !validID(rec.ID) {
		return fmt.Errorf("pgstore: create: invalid session ID %q", rec.ID)
	}
	meta, err := encodeMeta(rec.Meta)
	if err != nil {
		return fmt.Errorf("pgstore: create: %w", err)
	}
	keys, vals := split(rec.Values)
	var n int
	err = s.pool.QueryRow(ctx, `WITH s AS (
			INSERT INTO `+s.t.sessions()+` AS s
				(id, user_id, created_at, last_seen, expires_at, absolute_expiry, persistent, meta)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id,
				created_at = EXCLUDED.created_at, last_seen = EXCLUDED.last_seen,
				expires_at = EXCLUDED.expires_at, absolute_expiry = EXCLUDED.absolute_expiry,
				persistent = EXCLUDED.persistent, meta = EXCLUDED.meta
			WHERE s.expires_at <= $9
			RETURNING id
		), del AS (
			DELETE FROM `+s.t.values()+` v USING s
			WHERE v.session_id = s.id AND v.key <> ALL($10)
		)`+s.upsertValues(10)+`
		SELECT count(*) FROM s`,
		rec.ID, nullString(rec.UserID), rec.CreatedAt, rec.LastSeen,
		rec.ExpiresAt, rec.AbsoluteExpiry, rec.Persistent, meta, time.Now(),
		keys, vals).Scan(&n)
	if err != nil {
		return wrap(ctx, "create", err)
	}
	if n == 0 {
		return sessionkit.ErrExists
	}
	return nil
}

// upsertValues returns a common table expression that writes the keys in
// parameter $param, with the values in the next parameter, to the session
// returned by the CTE s.
func (s *Store) upsertValues(param int) string {
	return fmt.Sprintf(`, ins AS (
			INSERT INTO %s (session_id, key, value)
			SELECT s.id, t.k, t.v FROM s, unnest($%d::text[], $%d::bytea[]) AS t(k, v)
			ON CONFLICT (session_id, key) DO UPDATE SET value = EXCLUDED.value
		)`, s.t.values(), param, param+1)
}

// split returns the keys of values and their values in the same order.
func split(values map[string][]byte) (keys []string, vals [][]byte) {
	keys = make([]string, 0, len(values))
	vals = make([][]byte, 0, len(values))
	for k, v := range values {
		if v == nil {
			v = []byte{} // the column is NOT NULL
		}
		keys = append(keys, k)
		vals = append(vals, v)
	}
	return keys, vals
}

// Update applies d to the session id, writing only the keys that d names,
// atomically. It returns sessionkit.ErrNotFound when the session does not
// exist.
//
// Its UPDATE of the session row comes first and locks the row: a
// concurrent Update or Delete waits for it, and if a Delete came first the
// UPDATE finds nothing and no value changes.
func (s *Store) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "update", err)
	}
	if !validID(id) {
		return sessionkit.ErrNotFound
	}
	set := "last_seen = $2, expires_at = $3"
	args := []any{id, d.LastSeen, d.ExpiresAt}
	if !d.AbsoluteExpiry.IsZero() {
		args = append(args, d.AbsoluteExpiry)
		set += fmt.Sprintf(", absolute_expiry = $%d", len(args))
	}
	if d.UserID != nil {
		args = append(args, nullString(*d.UserID))
		set += fmt.Sprintf(", user_id = $%d", len(args))
	}
	if d.Persistent != nil {
		args = append(args, *d.Persistent)
		set += fmt.Sprintf(", persistent = $%d", len(args))
	}
	update := `UPDATE ` + s.t.sessions() + ` SET ` + set + ` WHERE id = $1`
	var err error
	switch {
	case !d.Clear && len(d.Set) == 0 && len(d.Del) == 0:
		var tag pgconn.CommandTag
		if tag, err = s.pool.Exec(ctx, update, args...); err == nil && tag.RowsAffected() == 0 {
			err = sessionkit.ErrNotFound
		}
	case !d.Clear && len(d.Del) == 0:
		// The common case, a request that sets keys, in one statement: one
		// round trip. Its upsert is safe against concurrent writers of the
		// same keys (ON CONFLICT sees rows committed after the statement
		// began).
		keys, vals := split(d.Set)
		args = append(args, keys, vals)
		var n int
		err = s.pool.QueryRow(ctx, `WITH s AS (`+update+` RETURNING id) `+
			s.upsertValues(len(args)-1)+` SELECT count(*) FROM s`, args...).Scan(&n)
		if err == nil && n == 0 {
			err = sessionkit.ErrNotFound
		}
	default:
		// Deletes run as statements of their own after the UPDATE, so that
		// they see the keys that a concurrent request committed while the
		// UPDATE waited for the row lock (a single statement would not).
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			b.Queue(update, args...)
			if d.Clear {
				b.Queue(`DELETE FROM `+s.t.values()+` WHERE session_id = $1`, id)
			}
			if len(d.Set) > 0 {
				keys, vals := split(d.Set)
				b.Queue(`WITH s AS (SELECT $1::text AS id) `+s.upsertValues(2)+` SELECT 1`, id, keys, vals)
			}
			if len(d.Del) > 0 {
				b.Queue(`DELETE FROM `+s.t.values()+` WHERE session_id = $1 AND key = ANY($2)`, id, d.Del)
			}
			br := tx.SendBatch(ctx, b)
			defer br.Close()
			tag, err := br.Exec()
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return sessionkit.ErrNotFound
			}
			return br.Close()
		})
	}
	return wrap(ctx, "update", err)
}

// Touch sets the LastSeen and ExpiresAt of the session id without
// rewriting its values. It returns sessionkit.ErrNotFound when the session
// does not exist.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	if err := ctx.Err(); err != nil {
		return wrap(ctx, "touch", err)
	}
	if !validID(id) {
		return sessionkit.ErrNotFound
	}
	tag, err := s.pool.Exec(ctx, `UPDATE `+s.t.sessions()+` SET last_seen = $2, expires_at = $3
		WHERE id = $1`, id, lastSeen, expiresAt)
	if err != nil {
		return wrap(ctx, "touch", err)
	}
	if tag.RowsAffected() == 0 {
		return sessionkit.ErrNotFound
	}
	return nil
}

// Delete deletes the session id; its values go with it (ON DELETE
// CASCADE). Deleting a missing session returns nil.
func (s *Store) Delete(ctx context.Context, id string) error {
	_, err := s.remove(ctx, "delete", id)
	return err
}

// Remove implements sessionkit.Remover: it deletes the session id as
// Delete does and reports whether this call deleted it. Of concurrent
// Removes of one session, from any number of instances, exactly one
// reports true: PostgreSQL's row lock makes the others find no row.
func (s *Store) Remove(ctx context.Context, id string) (bool, error) {
	return s.remove(ctx, "remove", id)
}

// remove is Delete and Remove, with op naming the operation in errors.
func (s *Store) remove(ctx context.Context, op, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrap(ctx, op, err)
	}
	if !validID(id) {
		return false, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM `+s.t.sessions()+` WHERE id = $1`, id)
	if err != nil {
		return false, wrap(ctx, op, err)
	}
	return tag.RowsAffected() > 0, nil
}

// LinkUser implements sessionkit.SessionLimiter in one transaction. It
// first takes a transaction-scoped advisory lock keyed by the table and the
// user (pg_advisory_xact_lock on two hashtext values; a collision of two
// users only makes them wait for each other), so two links of one user
// cannot both see room; each later statement sees what the links before
// it committed. It then links the session, counts the user's other live
// sessions, and refuses (rolling the link back) or deletes the oldest.
func (s *Store) LinkUser(ctx context.Context, id, userID string, limit int, evict bool, now time.Time) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, "link user", err)
	}
	if !validID(id) {
		return nil, sessionkit.ErrNotFound
	}
	if userID == "" || !validID(userID) {
		return nil, errors.New("pgstore: link user: the user ID must be non-empty UTF-8 without NUL bytes")
	}
	var evicted []string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, "sessionkit:"+s.t.sessions(), userID)
		b.Queue(`UPDATE `+s.t.sessions()+` SET user_id = $2 WHERE id = $1 AND expires_at > $3`, id, userID, now)
		b.Queue(`SELECT id FROM `+s.t.sessions()+`
			WHERE user_id = $1 AND id <> $2 AND expires_at > $3 ORDER BY created_at, id`, userID, id, now)
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return err
		}
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return sessionkit.ErrNotFound
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		others, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if err := br.Close(); err != nil {
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
		_, err = tx.Exec(ctx, `DELETE FROM `+s.t.sessions()+` WHERE id = ANY($1)`, evicted)
		return err
	})
	if err != nil {
		return nil, wrap(ctx, "link user", err)
	}
	return evicted, nil
}

const infoColumns = `id, user_id, created_at, last_seen, expires_at, persistent, meta`

// ListByUser returns the sessions of userID, oldest first, whatever their
// expiry. An empty userID has no sessions.
func (s *Store) ListByUser(ctx context.Context, userID string) ([]sessionkit.SessionInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrap(ctx, "list by user", err)
	}
	if userID == "" || !validID(userID) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+infoColumns+` FROM `+s.t.sessions()+`
		WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, wrap(ctx, "list by user", err)
	}
	infos, err := scanInfos(rows)
	return infos, wrap(ctx, "list by user", err)
}

// DeleteByUser deletes every session of userID except those whose IDs are
// in except, and returns how many live sessions it deleted (those expired by
// this process's clock are deleted too but not counted). An empty userID
// deletes nothing.
func (s *Store) DeleteByUser(ctx context.Context, userID string, except ...string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrap(ctx, "delete by user", err)
	}
	if userID == "" || !validID(userID) {
		return 0, nil
	}
	keep := make([]string, 0, len(except))
	for _, id := range except {
		if validID(id) {
			keep = append(keep, id)
		}
	}
	rows, err := s.pool.Query(ctx, `DELETE FROM `+s.t.sessions()+`
		WHERE user_id = $1 AND id <> ALL($2) RETURNING expires_at > $3`, userID, keep, time.Now())
	if err != nil {
		return 0, wrap(ctx, "delete by user", err)
	}
	n := 0
	var live bool
	_, err = pgx.ForEachRow(rows, []any{&live}, func() error {
		if live {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, wrap(ctx, "delete by user", err)
	}
	return n, nil
}

// Iterate returns a page of at most limit sessions, in ID order and
// whatever their expiry, that follow cursor, and the cursor of the next page ("" at the end). A cursor
// is opaque; a malformed one is an error.
func (s *Store) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	after, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !validID(string(after)) {
		return nil, "", fmt.Errorf("pgstore: iterate: malformed cursor %q", cursor)
	}
	// COLLATE "C" orders by bytes, whatever the database's collation, so
	// that the cursor comparison and the order agree.
	rows, err := s.pool.Query(ctx, `SELECT `+infoColumns+` FROM `+s.t.sessions()+`
		WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`,
		string(after), limit+1)
	if err != nil {
		return nil, "", wrap(ctx, "iterate", err)
	}
	page, err := scanInfos(rows)
	if err != nil {
		return nil, "", wrap(ctx, "iterate", err)
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(page[limit-1].ID))
	}
	return page, next, nil
}

// scanInfos reads rows of infoColumns and closes rows.
func scanInfos(rows pgx.Rows) ([]sessionkit.SessionInfo, error) {
	var (
		infos  []sessionkit.SessionInfo
		info   sessionkit.SessionInfo
		userID *string
		meta   []byte
	)
	_, err := pgx.ForEachRow(rows, []any{&info.ID, &userID, &info.CreatedAt, &info.LastSeen, &info.ExpiresAt, &info.Persistent, &meta}, func() error {
		i := info
		if userID != nil {
			i.UserID = *userID
		}
		var err error
		if i.Meta, err = decodeMeta(meta); err != nil {
			return err
		}
		infos = append(infos, i)
		return nil
	})
	return infos, err
}

// wrap annotates err with the operation and classifies it; it is the one
// place where the store decides what an error means. When the caller's
// context has ended, the error wraps the context's error
// (context.Canceled or context.DeadlineExceeded), whatever form the driver
// gave it, and never sessionkit.ErrUnavailable: cancellation is not an
// outage. Otherwise errors that mean the database cannot be reached
// (connection refused or lost, server shutting down or overloaded, a
// timeout) are marked with sessionkit.ErrUnavailable.
func wrap(ctx context.Context, op string, err error) error {
	if err == nil || errors.Is(err, sessionkit.ErrNotFound) || errors.Is(err, sessionkit.ErrExists) ||
		errors.Is(err, sessionkit.ErrTooManySessions) {
		return err
	}
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("pgstore: %s: %w", op, err)
		}
		return fmt.Errorf("pgstore: %s: %w (%v)", op, cerr, err)
	}
	if unavailable(err) {
		return fmt.Errorf("pgstore: %s: %w: %w", op, sessionkit.ErrUnavailable, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// unavailable reports whether err, from a call whose context is still
// live, means that the database cannot be reached.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection exception
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // shutdown, cannot connect now
			return true
		case pgErr.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func encodeMeta(m map[string]string) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return json.Marshal(m)
}

func decodeMeta(b []byte) (map[string]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode meta: %w", err)
	}
	return m, nil
}
