package app

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

// pausingUsers holds a login right after its user lookup by name.
type pausingUsers struct {
	UserStore
	pause *apptest.Pause
}

func (u pausingUsers) ByUsername(ctx context.Context, name string) (*User, error) {
	usr, err := u.UserStore.ByUsername(ctx, name)
	u.pause.Point()
	return usr, err
}

// Defect 3: a login that read the password hash before a password change
// completed must not sign in afterwards. The e2e module runs the same
// scenario on the PostgreSQL and MongoDB user stores.
func TestStaleLoginFails(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, usersURL string) {
		t.Helper()
		pause := &apptest.Pause{}
		e := openEnv(t, "memory:", usersURL, func(o *envOptions) {
			o.opts.Users = pausingUsers{UserStore: o.opts.Users, pause: pause}
		})
		apptest.RunStaleLogin(t, e.client, pause)
		if !strings.Contains(e.logs.String(), "password changed during the check") {
			t.Error("the stale login's reason is not logged")
		}
	}
	run(t, "sqlite:"+filepath.Join(t.TempDir(), "users.db"))
}

// A session ends when its user's credentials change elsewhere (another
// instance, an admin tool), even where no session was revoked: the
// session's credential version is checked on every request.
func TestSessionEndsWhenCredentialsChange(t *testing.T) {
	t.Parallel()
	for _, sessions := range []string{"memory:", "cookie:"} {
		e := openEnv(t, sessions, "memory:")
		laptop, phone := e.client("laptop"), e.client("phone")
		apptest.MustSeeOther(t, laptop.Register("ursula", apptest.TestPassword), "/")
		apptest.MustSeeOther(t, phone.Login("ursula", apptest.TestPassword, true), "/")
		u, err := e.app.users.ByUsername(t.Context(), "ursula")
		if err != nil || u == nil {
			t.Fatal(u, err)
		}
		hash, err := HashPassword("changed by another instance")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.app.users.SetPasswordHash(t.Context(), u.ID, hash); err != nil {
			t.Fatal(err)
		}
		laptop.Anonymous()
		phone.Anonymous()
		apptest.MustSeeOther(t, phone.Login("ursula", "changed by another instance", false), "/")
		phone.LoggedInAs("ursula")
	}
}

// Checklist 27: disabling an account ends its sessions and its logins.
func TestDisableUserEndsSessions(t *testing.T) {
	t.Parallel()
	for _, sessions := range []string{"memory:", "cookie:"} {
		e := openEnv(t, sessions, "memory:")
		laptop, phone := e.client("laptop"), e.client("phone")
		apptest.MustSeeOther(t, laptop.Register("vera", apptest.TestPassword), "/")
		apptest.MustSeeOther(t, phone.Login("vera", apptest.TestPassword, true), "/")
		other := e.client("other")
		apptest.MustSeeOther(t, other.Register("walt", apptest.TestPassword), "/")

		if err := e.app.SetUserDisabled(t.Context(), "VERA", true); err != nil {
			t.Fatal(err)
		}
		laptop.Anonymous()
		phone.Anonymous()
		other.LoggedInAs("walt")
		if r := e.client("again").Login("vera", apptest.TestPassword, false); r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Text, genericLoginError) {
			t.Errorf("%s: login of a disabled account: %d, want 401", sessions, r.StatusCode)
		}
		if err := e.app.SetUserDisabled(t.Context(), "nobody-here", true); err == nil {
			t.Error("disabling an unknown account: no error")
		}

		if err := e.app.SetUserDisabled(t.Context(), "vera", false); err != nil {
			t.Fatal(err)
		}
		phone.Anonymous() // enabling again revives no session
		apptest.MustSeeOther(t, laptop.Login("vera", apptest.TestPassword, false), "/")
		laptop.LoggedInAs("vera")
	}
}

// The command line can disable an account: -disable-user.
func TestRunDisableUser(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	users, err := OpenUsers(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := users.Create(ctx, &User{Username: "xena", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	users.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, args := range [][]string{{"-disable-user", "xena"}, {"-disable-user", "nobody"}} {
		c, err := ParseFlags(append([]string{"-data", dir, "-sessions", "memory:"}, args...), func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		err = Run(ctx, c, log, func(_, _ net.Addr) { t.Error("-disable-user started a server") })
		if (err != nil) != (args[1] == "nobody") {
			t.Errorf("%q: %v", args, err)
		}
	}
	users, err = OpenUsers(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer users.Close()
	if u, err := users.ByUsername(ctx, "xena"); err != nil || u == nil || !u.Disabled || u.CredentialVersion != 1 {
		t.Fatalf("after -disable-user: %+v %v", u, err)
	}
}

// A users table made before credential versions existed gains the columns.
func TestSQLiteUsersMigration(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "users.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE authserver_users (id TEXT PRIMARY KEY, username TEXT NOT NULL, username_key TEXT NOT NULL UNIQUE,
			password_hash TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
		`INSERT INTO authserver_users VALUES ('u_old', 'Zoe', 'zoe', 'h', 1, 1)`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := OpenSQLiteUsers(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.ByUsername(context.Background(), "zoe")
	if err != nil || u == nil || u.ID != "u_old" || u.CredentialVersion != 0 || u.Disabled {
		t.Fatalf("old row: %+v %v", u, err)
	}
	if v, err := s.SetPasswordHash(context.Background(), "u_old", "h2"); err != nil || v != 1 {
		t.Fatalf("SetPasswordHash on a migrated table: %d %v", v, err)
	}
}

// Checklist 45: well-known passwords from the embedded list are refused at
// registration.
func TestCommonPasswordsRefusedAtRegistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("c")
	for i, pass := range []string{"trustno1", "1qaz2wsx", "Superman", "baseball", "qwertyuiop", "password123"} {
		r := c.Register("common"+string(rune('a'+i)), pass)
		if r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(r.Text, "most common") {
			t.Errorf("register with %q: %d, want 422 (common password)", pass, r.StatusCode)
		}
	}
}
