package sessionprom_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessionprom"
)

func Example() {
	store := memstore.New(memstore.Options{})
	defer store.Close()

	metrics := sessionprom.New(sessionprom.Options{Namespace: "myapp"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)

	// The application's own event handler keeps working: Chain calls it
	// after counting.
	audit := func(_ context.Context, e sessionkit.Event) { fmt.Println("event:", e.Kind) }
	sessions, err := sessionkit.New(sessionkit.Config{
		Store:   metrics.WrapStore(store),
		OnEvent: metrics.Chain(audit),
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		s.Renew(false)
		s.SetUserID("42")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	h := sessions.Middleware(mux)

	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "https://example.com/login", nil))

	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest("GET", "https://example.com/metrics", nil))
	for line := range strings.Lines(rr.Body.String()) {
		if strings.HasPrefix(line, "myapp_sessions_") ||
			strings.HasPrefix(line, `myapp_session_store_duration_seconds_count{op="create",outcome="ok"}`) {
			fmt.Print(line)
		}
	}
	// Output:
	// event: created
	// myapp_session_store_duration_seconds_count{op="create",outcome="ok"} 1
	// myapp_sessions_created_total 1
	// myapp_sessions_renewed_total 0
}

func ExampleCollector_Chain() {
	metrics := sessionprom.New(sessionprom.Options{})
	prometheus.MustRegister(metrics)

	logEvent := func(ctx context.Context, e sessionkit.Event) {
		slog.InfoContext(ctx, "session event", "kind", e.Kind, "user", e.UserID)
	}
	cfg := sessionkit.Config{Store: memstore.New(memstore.Options{}), OnEvent: logEvent}
	cfg.Store = metrics.WrapStore(cfg.Store)
	cfg.OnEvent = metrics.Chain(cfg.OnEvent)
	if _, err := sessionkit.New(cfg); err != nil {
		log.Fatal(err)
	}
}
