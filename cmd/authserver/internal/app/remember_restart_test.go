package app

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/remember"
)

// TestRememberMeSurvivesRestart signs in with "keep me signed in", restarts
// the app on the same data, and comes back with nothing but the remember-me
// token: the token lives in the sessions' backend (SQLite here), or, for
// the cookie: store, in the user store's.
func TestRememberMeSurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, sessions := range []string{"sqlite:", "cookie:"} {
		t.Run(strings.TrimSuffix(sessions, ":"), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c, err := ParseFlags([]string{"-data", dir, "-sessions", sessions, "-users", "sqlite:" + filepath.Join(dir, "u.db")},
				func(string) string { return "" }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			start := func() (*httptest.Server, func()) {
				a, _, closeStores, err := open(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)))
				if err != nil {
					t.Fatal(err)
				}
				srv := httptest.NewTLSServer(a.Handler())
				return srv, func() { srv.Close(); closeStores() }
			}
			srv, stop := start()
			setup := apptest.NewClient(t, srv, "setup")
			apptest.MustSeeOther(t, setup.Register("rita", apptest.TestPassword), "/")
			browser := apptest.NewClient(t, srv, "browser")
			apptest.MustSeeOther(t, browser.Login("rita", apptest.TestPassword, true), "/")
			token := browser.Cookie(remember.DefaultCookieName)
			if token == nil {
				t.Fatal("no remember-me token after a login with the box ticked")
			}
			stop()

			srv, stop = start()
			defer stop()
			again := browser.OnServer(srv)
			again.DropSessionCookie() // the browser restarted too
			again.LoggedInAs("rita")
			if now := again.Cookie(remember.DefaultCookieName); now == nil || now.Value == token.Value {
				t.Errorf("token not rotated after the restart: %v", now)
			}
			// Logout forgets the token: the copy taken before it no longer
			// signs in either.
			apptest.MustSeeOther(t, again.Logout(), "/login")
			gone := browser.OnServer(srv)
			gone.DropSessionCookie()
			gone.Anonymous()
		})
	}
}
