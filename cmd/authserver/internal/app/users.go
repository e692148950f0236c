package app

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"github.com/sessionkit/sessionkit/cmd/internal/storeurl"
	"regexp"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver
)

// User is an account.
type User struct {
	// ID is the stable identifier linked to sessions.
	ID string
	// Username is the name as typed at registration, shown in greetings.
	Username string
	// PasswordHash is an argon2id PHC string, or a bcrypt hash carried over
	// from the Node app (upgraded at the next login).
	PasswordHash string
	// CreatedAt is when the account was created.
	CreatedAt time.Time
	// CredentialVersion goes up with every password change and every
	// disabling or enabling of the account. A session records the version
	// it was signed in with and ends when the account's version moves on;
	// a login whose version went stale while it checked the password fails.
	CredentialVersion int64
	// Disabled accounts cannot sign in, and their sessions end.
	Disabled bool
}

// ErrUsernameTaken is returned by UserStore.Create when the name is in use.
var ErrUsernameTaken = errors.New("username taken")

// errNoSuchUser is returned by updates of a user that does not exist.
var errNoSuchUser = errors.New("no such user")

// UserStore keeps accounts. Usernames are unique ignoring case: the lookup
// key is the lower-cased name.
type UserStore interface {
	// ByUsername returns the user named username (ignoring case), or nil.
	ByUsername(ctx context.Context, username string) (*User, error)
	// ByID returns the user with the ID, or nil.
	ByID(ctx context.Context, id string) (*User, error)
	// Create stores a new user, filling in ID and CreatedAt. It returns
	// ErrUsernameTaken when the name is in use.
	Create(ctx context.Context, u *User) error
	// SetPasswordHash replaces the password hash of user id after a
	// password change and increments its credential version, which it
	// returns.
	SetPasswordHash(ctx context.Context, id, hash string) (version int64, err error)
	// RehashPassword replaces the hash of user id, if it is still oldHash,
	// with newHash, a stronger hash of the same password. The credential
	// version stays.
	RehashPassword(ctx context.Context, id, oldHash, newHash string) error
	// SetDisabled disables or enables user id and increments its
	// credential version.
	SetDisabled(ctx context.Context, id string, disabled bool) error
	// Ping checks that the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$`)

// UsernameProblem returns a message for the user when name cannot be
// registered, or "".
func UsernameProblem(name string) string {
	if !usernameRE.MatchString(name) {
		return "Choose a username of 3 to 32 letters, digits, dots, dashes or underscores, starting with a letter or digit."
	}
	return ""
}

// usernameKey is the unique lookup key of a username.
func usernameKey(name string) string { return strings.ToLower(name) }

// newUserID returns a random user ID.
func newUserID() string { return "u_" + strings.ToLower(rand.Text()) }

// sqlUsers is a UserStore in SQLite or PostgreSQL through database/sql.
type sqlUsers struct {
	db       *sql.DB
	postgres bool
}

const usersSchema = `CREATE TABLE IF NOT EXISTS authserver_users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	username_key  TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	credential_version BIGINT NOT NULL DEFAULT 0,
	disabled      INTEGER NOT NULL DEFAULT 0
)`

// usersMigrations add the columns that tables made by earlier versions
// lack.
var usersMigrations = []string{
	`ALTER TABLE authserver_users ADD COLUMN credential_version BIGINT NOT NULL DEFAULT 0`,
	`ALTER TABLE authserver_users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0`,
}

// OpenSQLiteUsers opens (creating it if needed) a SQLite user database.
func OpenSQLiteUsers(ctx context.Context, path string) (UserStore, error) {
	dsn := path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if path == ":memory:" {
		dsn = "file::memory:?_pragma=busy_timeout(5000)"
	}
	if err := storeurl.CreatePrivate(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if path == ":memory:" {
		db.SetMaxOpenConns(1)
	}
	return newSQLUsers(ctx, db, false)
}

// OpenPostgresUsers connects to PostgreSQL with a postgres:// URL.
func OpenPostgresUsers(ctx context.Context, url string) (UserStore, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	return newSQLUsers(ctx, db, true)
}

func newSQLUsers(ctx context.Context, db *sql.DB, postgres bool) (*sqlUsers, error) {
	if _, err := db.ExecContext(ctx, usersSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create users table: %w", err)
	}
	if _, err := db.ExecContext(ctx, `SELECT credential_version, disabled FROM authserver_users LIMIT 0`); err != nil {
		for _, m := range usersMigrations {
			if _, err := db.ExecContext(ctx, m); err != nil {
				db.Close()
				return nil, fmt.Errorf("migrate users table: %w", err)
			}
		}
	}
	return &sqlUsers{db: db, postgres: postgres}, nil
}

// q rewrites ? placeholders as $n for PostgreSQL.
func (s *sqlUsers) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *sqlUsers) one(ctx context.Context, where string, arg string) (*User, error) {
	var u User
	var created, disabled int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, username, password_hash, created_at, credential_version, disabled FROM authserver_users WHERE `+where+` = ?`), arg).
		Scan(&u.ID, &u.Username, &u.PasswordHash, &created, &u.CredentialVersion, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt, u.Disabled = time.UnixMilli(created), disabled != 0
	return &u, nil
}

func (s *sqlUsers) ByUsername(ctx context.Context, username string) (*User, error) {
	return s.one(ctx, "username_key", usernameKey(username))
}

func (s *sqlUsers) ByID(ctx context.Context, id string) (*User, error) {
	return s.one(ctx, "id", id)
}

func (s *sqlUsers) Create(ctx context.Context, u *User) error {
	u.ID = newUserID()
	u.CreatedAt = time.Now()
	ms := u.CreatedAt.UnixMilli()
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO authserver_users (id, username, username_key, password_hash, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username_key) DO NOTHING`),
		u.ID, u.Username, usernameKey(u.Username), u.PasswordHash, ms, ms)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrUsernameTaken
	}
	return nil
}

func (s *sqlUsers) SetPasswordHash(ctx context.Context, id, hash string) (int64, error) {
	var version int64
	err := s.db.QueryRowContext(ctx, s.q(`UPDATE authserver_users SET password_hash = ?, updated_at = ?,
		credential_version = credential_version + 1 WHERE id = ? RETURNING credential_version`),
		hash, time.Now().UnixMilli(), id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNoSuchUser
	}
	return version, err
}

func (s *sqlUsers) RehashPassword(ctx context.Context, id, oldHash, newHash string) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE authserver_users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?`),
		newHash, time.Now().UnixMilli(), id, oldHash)
	return err
}

func (s *sqlUsers) SetDisabled(ctx context.Context, id string, disabled bool) error {
	flag := 0
	if disabled {
		flag = 1
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE authserver_users SET disabled = ?, updated_at = ?,
		credential_version = credential_version + 1 WHERE id = ?`), flag, time.Now().UnixMilli(), id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errNoSuchUser
	}
	return nil
}

func (s *sqlUsers) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func (s *sqlUsers) Close() error { return s.db.Close() }
