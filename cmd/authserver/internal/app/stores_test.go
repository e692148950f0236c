package app

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/internal/testserver"
)

// openEnv starts an app on the session and user stores named by URLs, as
// the -sessions and -users flags do.
func openEnv(t *testing.T, sessionsURL, usersURL string, tweak ...func(*envOptions)) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := [][]byte{[]byte("cookie-key-0123456789abcdefghijklmnopqrstuvwxyz")}
	b, err := OpenSessions(ctx, sessionsURL, t.TempDir(), "__Host-sid", key, slog.Default())
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
		o.opts.Store, o.opts.ClientStore, o.opts.Users = b.Store, b.ClientStore, u
	}}, tweak...)...)
}

// TestStores runs every flow against every store the -sessions and -users
// flags offer (MongoDB lives in the e2e module, with FerretDB).
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
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		r := testserver.StartRedis(t)
		apptest.RunCoreFlows(t, openEnv(t, "redis://"+r.Addr+"/0", "memory:").client, true)
	})
	t.Run("redis-cluster", func(t *testing.T) {
		t.Parallel()
		addrs := testserver.StartRedisCluster(t)
		apptest.RunCoreFlows(t, openEnv(t, "redis+cluster://"+strings.Join(addrs, ","), "memory:").client, true)
	})
	t.Run("redis-sentinel", func(t *testing.T) {
		t.Parallel()
		master, sentinels, _ := testserver.StartRedisSentinel(t)
		apptest.RunCoreFlows(t, openEnv(t, "redis+sentinel://"+master+"@"+strings.Join(sentinels, ","), "memory:").client, true)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testserver.StartPostgres(t)
		apptest.RunCoreFlows(t, openEnv(t, pg.DSN, pg.CreateDatabase(t, "users")).client, true)
	})
}

// Two app instances sharing one Redis: a session created through one is
// valid on the other, and a logout on one is seen by the other.
func TestTwoInstancesShareRedis(t *testing.T) {
	t.Parallel()
	r := testserver.StartRedis(t)
	dir := t.TempDir()
	usersURL := "sqlite:" + filepath.Join(dir, "users.db")
	a := openEnv(t, "redis://"+r.Addr, usersURL)
	b := openEnv(t, "redis://"+r.Addr, usersURL)

	onA := a.client("browser")
	apptest.MustSeeOther(t, onA.Register("olga", apptest.TestPassword), "/")
	onB := onA.OnServer(b.srv)
	onB.LoggedInAs("olga")

	// Log in a second device through B; A lists both.
	phone := b.client("phone")
	apptest.MustSeeOther(t, phone.Login("olga", apptest.TestPassword, true), "/")
	if ids, _ := onA.Devices(); len(ids) != 2 {
		t.Fatalf("A sees %d devices, want 2", len(ids))
	}
	// Logout through B ends the session on A as well.
	apptest.MustSeeOther(t, onB.Logout(), "/login")
	onA.Anonymous()
	// Revoking through A is seen by B.
	phoneOnA := phone.OnServer(a.srv)
	phoneOnA.LoggedInAs("olga")
	apptest.MustSeeOther(t, phoneOnA.Post("/sessions/revoke-others", nil), "/sessions")
	phoneOnA.LoggedInAs("olga")
	onB.Anonymous()
}

// When the session store goes away, pages answer 503 and /healthz says
// so; when it comes back, the app recovers without a restart.
func TestSessionStoreDown(t *testing.T) {
	t.Parallel()
	r := testserver.StartRedis(t)
	e := openEnv(t, "redis://"+r.Addr+"?dial_timeout=1s&read_timeout=1s", "memory:")
	c := e.client("c")
	apptest.MustSeeOther(t, c.Register("quinn", apptest.TestPassword), "/")
	r.Stop()
	if res := c.Get("/"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET / with Redis down: %d, want 503", res.StatusCode)
	}
	if res := c.Get("/healthz"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz with Redis down: %d, want 503", res.StatusCode)
	}
	r.Start() // the data is gone: the session with it
	if res := c.Get("/healthz"); res.StatusCode != http.StatusOK {
		t.Errorf("/healthz after restart: %d", res.StatusCode)
	}
	c.Anonymous()
	apptest.MustSeeOther(t, c.Login("quinn", apptest.TestPassword, false), "/")
}
