package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/app"
)

// startApp serves the app on the stores named by URLs, as the -sessions
// and -users flags do. With tls false it serves plain HTTP; dev picks
// non-Secure cookies. wrap, if given, wraps the user store.
func startApp(t *testing.T, sessionsURL, usersURL string, tls, dev bool, wrap ...func(app.UserStore) app.UserStore) (*httptest.Server, *app.App) {
	t.Helper()
	return startAppWith(t, sessionsURL, app.SessionOptions{}, usersURL, tls, dev, wrap...)
}

// startAppWith is startApp with more session options (such as a cookie
// store's revocation list); its data directory, cookie name, keys and
// logger are filled in.
func startAppWith(t *testing.T, sessionsURL string, opts app.SessionOptions, usersURL string, tls, dev bool, wrap ...func(app.UserStore) app.UserStore) (*httptest.Server, *app.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cookieName := "__Host-sid"
	if dev {
		cookieName = "sid"
	}
	key := [][]byte{[]byte("cookie-key-0123456789abcdefghijklmnopqrstuvwxyz")}
	opts.DataDir, opts.CookieName, opts.CookieKeys, opts.Logger = t.TempDir(), cookieName, key, log
	b, err := app.OpenSessions(ctx, sessionsURL, opts)
	if err != nil {
		t.Fatalf("sessions %s: %v", sessionsURL, err)
	}
	t.Cleanup(func() { b.Close() })
	users, err := app.OpenUsers(ctx, usersURL, t.TempDir())
	if err != nil {
		t.Fatalf("users %s: %v", usersURL, err)
	}
	t.Cleanup(func() { users.Close() })
	for _, w := range wrap {
		users = w(users)
	}
	a, err := app.New(app.Options{
		Store: b.Store, ClientStore: b.ClientStore, Remember: b.Remember, Users: users, Dev: dev, Logger: log,
		Secrets: [][]byte{[]byte("test-secret-0123456789abcdefghijklmnopqrstuvwxyz")},
	})
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(a.Handler())
	} else {
		srv = httptest.NewServer(a.Handler())
	}
	t.Cleanup(srv.Close)
	return srv, a
}
