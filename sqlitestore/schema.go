package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DefaultTable is the name of the sessions table when Options.Table is
// empty. The values table is named after it, with the suffix "_values".
const DefaultTable = "sessionkit_sessions"

// DefaultSchema is the schema that New creates for DefaultTable. Schema
// returns it for another table name. Times are Unix nanoseconds (UTC); 0
// stands for the zero time.Time.
const DefaultSchema = `CREATE TABLE IF NOT EXISTS sessionkit_sessions (
	id              TEXT PRIMARY KEY NOT NULL,
	user_id         TEXT,
	created_at      INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	absolute_expiry INTEGER NOT NULL,
	persistent      INTEGER NOT NULL DEFAULT 0,
	meta            TEXT
);
CREATE INDEX IF NOT EXISTS sessionkit_sessions_user_id_idx ON sessionkit_sessions (user_id);
CREATE INDEX IF NOT EXISTS sessionkit_sessions_expires_at_idx ON sessionkit_sessions (expires_at);
CREATE TABLE IF NOT EXISTS sessionkit_sessions_values (
	session_id TEXT NOT NULL REFERENCES sessionkit_sessions (id) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	value      BLOB NOT NULL,
	PRIMARY KEY (session_id, key)
);
`

// sessionColumns and valueColumns are the columns New requires in an
// existing table.
var (
	sessionColumns = []string{"id", "user_id", "created_at", "last_seen", "expires_at", "absolute_expiry", "persistent", "meta"}
	valueColumns   = []string{"session_id", "key", "value"}
)

// identRE matches the table names that Options.Table accepts.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,47}$`)

// Schema returns the SQL statements, separated by semicolons, that create
// the tables and indexes for a sessions table named table. The values table
// is named table+"_values". Users who manage their own migrations can run
// them; New runs them too, and they do nothing when the tables exist.
//
// table must be a plain SQL identifier: a letter or underscore, then
// letters, digits or underscores, at most 48 characters.
func Schema(table string) (string, error) {
	if err := checkTable(table); err != nil {
		return "", err
	}
	return strings.ReplaceAll(DefaultSchema, DefaultTable, table), nil
}

func checkTable(table string) error {
	if !identRE.MatchString(table) {
		return fmt.Errorf("sqlitestore: invalid table name %q: want a letter or underscore, then letters, digits or underscores (at most 48)", table)
	}
	return nil
}

// statements splits a schema into its statements.
func statements(schema string) []string {
	var stmts []string
	for s := range strings.SplitSeq(schema, ";") {
		if s = strings.TrimSpace(s); s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

// migrate creates the tables if they do not exist and checks that they have
// the expected columns.
func (s *Store) migrate(ctx context.Context) error {
	schema, err := Schema(s.table)
	if err != nil {
		return err
	}
	// Check existing tables first: creating the indexes would fail on a
	// table with the wrong columns, with a less helpful error.
	if err := s.checkColumns(ctx, s.table, sessionColumns); err != nil {
		return err
	}
	if err := s.checkColumns(ctx, s.values, valueColumns); err != nil {
		return err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		for _, stmt := range statements(schema) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	return s.wrap(ctx, "create schema", err)
}

// checkColumns returns an error naming the missing columns when table
// exists and lacks any of want.
func (s *Store) checkColumns(ctx context.Context, table string, want []string) error {
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return s.wrap(ctx, "check schema", err)
	}
	defer rows.Close()
	var have []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return s.wrap(ctx, "check schema", err)
		}
		have = append(have, strings.ToLower(name))
	}
	if err := rows.Err(); err != nil {
		return s.wrap(ctx, "check schema", err)
	}
	if len(have) == 0 {
		return nil // the table does not exist yet
	}
	var missing []string
	for _, c := range want {
		if !slices.Contains(have, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sqlitestore: table %q exists but does not have the expected schema: missing columns %s (have %s); drop or rename it, or set Options.Table (see sqlitestore.Schema)",
			table, strings.Join(missing, ", "), strings.Join(have, ", "))
	}
	return nil
}
