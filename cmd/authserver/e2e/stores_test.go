package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/internal/testserver"
)

// TestServerStores runs every flow against the stores of the -sessions and
// -users flags that need a server: Redis (standalone, Cluster, Sentinel) and
// PostgreSQL, each a real server started for the test. The stores without a
// server are covered by the app's own tests; MongoDB by TestMongoDB.
func TestServerStores(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, sessionsURL, usersURL string) {
		srv, _ := startApp(t, sessionsURL, usersURL, true, false)
		apptest.RunCoreFlows(t, func(name string) *apptest.Client { return apptest.NewClient(t, srv, name) }, true)
	}
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		r := testserver.StartRedis(t)
		run(t, "redis://"+r.Addr+"/0", "memory:")
	})
	t.Run("redis-cluster", func(t *testing.T) {
		t.Parallel()
		addrs := testserver.StartRedisCluster(t)
		run(t, "redis+cluster://"+strings.Join(addrs, ","), "memory:")
	})
	t.Run("redis-sentinel", func(t *testing.T) {
		t.Parallel()
		master, sentinels, _ := testserver.StartRedisSentinel(t)
		run(t, "redis+sentinel://"+master+"@"+strings.Join(sentinels, ","), "memory:")
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testserver.StartPostgres(t)
		run(t, pg.DSN, pg.CreateDatabase(t, "users"))
	})
}

// Two app instances sharing one Redis: a session created through one is
// valid on the other, and a logout on one is seen by the other.
func TestTwoInstancesShareRedis(t *testing.T) {
	t.Parallel()
	r := testserver.StartRedis(t)
	usersURL := "sqlite:" + filepath.Join(t.TempDir(), "users.db")
	a, _ := startApp(t, "redis://"+r.Addr, usersURL, true, false)
	b, _ := startApp(t, "redis://"+r.Addr, usersURL, true, false)

	onA := apptest.NewClient(t, a, "browser")
	apptest.MustSeeOther(t, onA.Register("olga", apptest.TestPassword), "/")
	onB := onA.OnServer(b)
	onB.LoggedInAs("olga")

	// Log in a second device through B; A lists both.
	phone := apptest.NewClient(t, b, "phone")
	apptest.MustSeeOther(t, phone.Login("olga", apptest.TestPassword, true), "/")
	if ids, _ := onA.Devices(); len(ids) != 2 {
		t.Fatalf("A sees %d devices, want 2", len(ids))
	}
	// Logout through B ends the session on A as well.
	apptest.MustSeeOther(t, onB.Logout(), "/login")
	onA.Anonymous()
	// Revoking through A is seen by B.
	phoneOnA := phone.OnServer(a)
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
	srv, _ := startApp(t, "redis://"+r.Addr+"?dial_timeout=1s&read_timeout=1s", "memory:", true, false)
	c := apptest.NewClient(t, srv, "c")
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
