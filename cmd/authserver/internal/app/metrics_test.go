package app

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

// TestMetricsOfStoreCalls checks the session metrics that come from
// sessionprom: store calls by outcome, through the per-user index, and the
// rejected-tokens counter.
func TestMetricsOfStoreCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client("c")
	apptest.MustSeeOther(t, c.Register("olga", apptest.TestPassword), "/")
	old := c.SessionCookie()
	if ids, _ := c.Devices(); len(ids) != 1 {
		t.Fatalf("devices: %v", ids)
	}
	c.Logout()
	replay := e.client("replay")
	replay.SetSessionCookie(old)
	replay.Anonymous()

	ms := httptest.NewServer(e.app.MetricsHandler())
	defer ms.Close()
	r := apptest.NewClient(t, ms, "prometheus").Get("/metrics")
	for _, want := range []string{
		`authserver_session_store_duration_seconds_count{op="list_by_user",outcome="ok"} 1`,
		`authserver_session_store_duration_seconds_count{op="load",outcome="not_found"} `,
		`authserver_session_store_duration_seconds_count{op="iterate",outcome="ok"} 0`,
	} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(r.Text, `authserver_session_store_duration_seconds_count{op="load",outcome="not_found"} 0`) {
		t.Error("the replayed cookie's load is not counted as not_found")
	}
}
