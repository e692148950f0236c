package e2e

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/app"
	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/internal/testserver"
)

// TestPostgresStaleLogin: a login that read the password hash from
// PostgreSQL before a password change completed does not sign in.
func TestPostgresStaleLogin(t *testing.T) {
	t.Parallel()
	pg := testserver.StartPostgres(t)
	pause := &apptest.Pause{}
	srv, _ := startApp(t, "memory:", pg.CreateDatabase(t, "users"), true, false,
		func(u app.UserStore) app.UserStore { return pausingUsers{UserStore: u, pause: pause} })
	apptest.RunStaleLogin(t, func(name string) *apptest.Client { return apptest.NewClient(t, srv, name) }, pause)
}

// The SQL user stores keep the credential version and the disabled flag.
func TestUserStoreCredentialVersion(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, usersURL string) {
		ctx := context.Background()
		s, err := app.OpenUsers(ctx, usersURL, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		u := &app.User{Username: "Yvonne", PasswordHash: "h0"}
		if err := s.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		check := func(step, hash string, version int64, disabled bool) {
			t.Helper()
			got, err := s.ByID(ctx, u.ID)
			if err != nil || got == nil || got.PasswordHash != hash || got.CredentialVersion != version || got.Disabled != disabled {
				t.Fatalf("%s: %+v %v; want hash %q, version %d, disabled %v", step, got, err, hash, version, disabled)
			}
		}
		check("new", "h0", 0, false)
		if v, err := s.SetPasswordHash(ctx, u.ID, "h1"); err != nil || v != 1 {
			t.Fatalf("SetPasswordHash: %d %v", v, err)
		}
		check("password change", "h1", 1, false)
		if err := s.RehashPassword(ctx, u.ID, "h0", "stale"); err != nil {
			t.Fatal(err)
		}
		check("rehash of a replaced hash", "h1", 1, false)
		if err := s.RehashPassword(ctx, u.ID, "h1", "h1-stronger"); err != nil {
			t.Fatal(err)
		}
		check("rehash", "h1-stronger", 1, false)
		if err := s.SetDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		check("disable", "h1-stronger", 2, true)
		if _, err := s.SetPasswordHash(ctx, "u_missing", "h"); err == nil {
			t.Error("SetPasswordHash of a missing user: no error")
		}
		if err := s.SetDisabled(ctx, "u_missing", true); err == nil {
			t.Error("SetDisabled of a missing user: no error")
		}
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		run(t, "sqlite:"+filepath.Join(t.TempDir(), "users.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testserver.StartPostgres(t)
		run(t, pg.CreateDatabase(t, "users"))
	})
}
