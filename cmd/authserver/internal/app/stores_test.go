package app

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

// openEnv starts an app on the session and user stores named by URLs, as
// the -sessions and -users flags do.
func openEnv(t *testing.T, sessionsURL, usersURL string, tweak ...func(*envOptions)) *env {
	t.Helper()
	return openEnvWith(t, sessionsURL, usersURL, SessionOptions{}, tweak...)
}

// openEnvWith is openEnv with more session options: its data directory,
// cookie name and keys are filled in.
func openEnvWith(t *testing.T, sessionsURL, usersURL string, opts SessionOptions, tweak ...func(*envOptions)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.DataDir, opts.CookieName, opts.Logger = t.TempDir(), "__Host-sid", slog.Default()
	opts.CookieKeys = [][]byte{[]byte("cookie-key-0123456789abcdefghijklmnopqrstuvwxyz")}
	b, err := OpenSessions(ctx, sessionsURL, opts)
	if err != nil {
		t.Fatalf("open sessions %s: %v", sessionsURL, err)
	}
	t.Cleanup(func() { b.Close() })
	u, err := OpenUsers(ctx, usersURL, t.TempDir())
	if err != nil {
		t.Fatalf("open users %s: %v", usersURL, err)
	}
	t.Cleanup(func() { u.Close() })
	return newEnv(t, append([]func(*envOptions){func(o *envOptions) {
		o.opts.Store, o.opts.ClientStore, o.opts.Users, o.opts.Remember = b.Store, b.ClientStore, u, b.Remember
	}}, tweak...)...)
}

// TestStores runs every flow against every store of the -sessions and
// -users flags that needs no server. The e2e module runs them against real
// Redis, PostgreSQL and MongoDB-protocol servers.
func TestStores(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		apptest.RunCoreFlows(t, openEnv(t, "memory:", "memory:").client, true)
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		apptest.RunCoreFlows(t, openEnv(t, "sqlite:"+filepath.Join(dir, "s.db"), "sqlite:"+filepath.Join(dir, "u.db")).client, true)
	})
	t.Run("sqlite-default-paths", func(t *testing.T) {
		t.Parallel()
		apptest.RunCoreFlows(t, openEnv(t, "", "").client, true)
	})
	t.Run("cookie", func(t *testing.T) {
		t.Parallel()
		apptest.RunCoreFlows(t, openEnv(t, "cookie:", "memory:").client, false)
	})
}
