package pgstore

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// DefaultTable is the name of the sessions table when Options.Table is
// empty. The values table is named after it, with the suffix "_values".
const DefaultTable = "sessionkit_sessions"

// DefaultSchema is the schema that New creates for DefaultTable. Schema
// returns it for another table name.
const DefaultSchema = `CREATE TABLE IF NOT EXISTS sessionkit_sessions (
	id              text COLLATE "C" PRIMARY KEY,
	user_id         text,
	created_at      timestamptz NOT NULL,
	last_seen       timestamptz NOT NULL,
	expires_at      timestamptz NOT NULL,
	absolute_expiry timestamptz NOT NULL,
	persistent      boolean NOT NULL DEFAULT false,
	meta            jsonb
);
CREATE INDEX IF NOT EXISTS sessionkit_sessions_user_id_idx ON sessionkit_sessions (user_id);
CREATE INDEX IF NOT EXISTS sessionkit_sessions_expires_at_idx ON sessionkit_sessions (expires_at);
CREATE TABLE IF NOT EXISTS sessionkit_sessions_values (
	session_id text COLLATE "C" NOT NULL REFERENCES sessionkit_sessions (id) ON DELETE CASCADE,
	key        text NOT NULL,
	value      bytea NOT NULL,
	PRIMARY KEY (session_id, key)
);
`

// column is a column that New requires, with the types it accepts (as
// PostgreSQL's format_type prints them; a trailing '*' matches any
// suffix, such as a length).
type column struct {
	name  string
	types []string
}

var (
	textTypes      = []string{"text", "character varying*"}
	timeTypes      = []string{"timestamp with time zone"}
	sessionColumns = []column{
		{"id", textTypes},
		{"user_id", textTypes},
		{"created_at", timeTypes},
		{"last_seen", timeTypes},
		{"expires_at", timeTypes},
		{"absolute_expiry", timeTypes},
		{"persistent", []string{"boolean"}},
		{"meta", []string{"jsonb", "json"}},
	}
	valueColumns = []column{
		{"session_id", textTypes},
		{"key", textTypes},
		{"value", []string{"bytea"}},
	}
)

// identRE matches the table names that Options.Table accepts: an
// identifier, optionally qualified by a schema name.
var identRE = regexp.MustCompile(`^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,47}$`)

// tableName is a validated table name, split into its schema qualifier
// (with the dot, or "") and its name.
type tableName struct {
	schema, name string
}

func parseTable(table string) (tableName, error) {
	if !identRE.MatchString(table) {
		return tableName{}, fmt.Errorf("pgstore: invalid table name %q: want an identifier (a letter or underscore, then letters, digits or underscores, at most 48), optionally qualified by a schema (\"myschema.sessions\")", table)
	}
	i := strings.LastIndexByte(table, '.')
	return tableName{schema: table[:i+1], name: table[i+1:]}, nil
}

func (t tableName) sessions() string { return t.schema + t.name }
func (t tableName) values() string   { return t.schema + t.name + "_values" }

// Schema returns the SQL statements, separated by semicolons, that create
// the tables and indexes for a sessions table named table. The values table
// is named table+"_values"; the indexes table+"_user_id_idx" and
// table+"_expires_at_idx". Users who manage their own migrations can run
// them; New runs them too, and they do nothing when the tables exist.
//
// table must be an identifier: a letter or underscore, then letters, digits
// or underscores, at most 48 characters. It may be qualified by a schema
// name, as in "auth.sessions". It is not quoted, so PostgreSQL folds it to
// lower case.
func Schema(table string) (string, error) {
	t, err := parseTable(table)
	if err != nil {
		return "", err
	}
	return t.schemaSQL(), nil
}

func (t tableName) schemaSQL() string {
	r := strings.NewReplacer(
		"sessionkit_sessions_values", t.values(),
		"sessionkit_sessions_user_id_idx", t.name+"_user_id_idx",
		"sessionkit_sessions_expires_at_idx", t.name+"_expires_at_idx",
		"sessionkit_sessions", t.sessions(),
	)
	return r.Replace(DefaultSchema)
}

// migrate checks the columns of existing tables, then creates what is
// missing.
func (s *Store) migrate(ctx context.Context) error {
	return s.createTables(ctx, s.t.schemaSQL(),
		tableColumns{s.t.sessions(), sessionColumns}, tableColumns{s.t.values(), valueColumns})
}

// tableColumns is a table with the columns it must have if it exists.
type tableColumns struct {
	table   string
	columns []column
}

// createTables checks the columns of those of tables that exist, then runs
// schema. An advisory lock named after the first table keeps stores that
// start at the same time from racing on CREATE TABLE.
func (s *Store) createTables(ctx context.Context, schema string, tables ...tableColumns) error {
	for _, t := range tables {
		if err := s.checkColumns(ctx, t.table, t.columns); err != nil {
			return err
		}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "sessionkit:"+tables[0].table); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	return wrap(ctx, "create schema", err)
}

// checkColumns returns an error describing the differences when table
// exists and lacks any of want or has one with another type.
func (s *Store) checkColumns(ctx context.Context, table string, want []column) error {
	rows, err := s.pool.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_attribute a
		WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`, table)
	if err != nil {
		return wrap(ctx, "check schema", err)
	}
	have := map[string]string{}
	var name, typ string
	_, err = pgx.ForEachRow(rows, []any{&name, &typ}, func() error {
		have[name] = typ
		return nil
	})
	if err != nil {
		return wrap(ctx, "check schema", err)
	}
	if len(have) == 0 {
		return nil // the table does not exist yet
	}
	var problems []string
	for _, c := range want {
		typ, ok := have[c.name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("missing column %s", c.name))
		case !slices.ContainsFunc(c.types, func(t string) bool { return matchType(t, typ) }):
			problems = append(problems, fmt.Sprintf("column %s has type %s, want %s", c.name, typ, c.types[0]))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("pgstore: table %s exists but does not have the expected schema: %s; drop or rename it, or set Options.Table (see pgstore.Schema)",
			table, strings.Join(problems, "; "))
	}
	return nil
}

func matchType(pattern, typ string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(typ, p)
	}
	return pattern == typ
}
