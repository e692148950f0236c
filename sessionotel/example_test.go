package sessionotel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessionotel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func ExampleWrapStore() {
	// In production the provider exports to a collector; here spans are
	// kept in memory to print them.
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())

	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{
		Store: sessionotel.WrapStore(store, sessionotel.Options{TracerProvider: tp}),
	})
	if err != nil {
		log.Fatal(err)
	}
	app := sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessions.Session(r.Context()).Put("theme", "dark")
	}))
	// The request's span, as an HTTP instrumentation such as otelhttp
	// would start it.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("example").Start(r.Context(), "GET /")
		defer span.End()
		app.ServeHTTP(w, r.WithContext(ctx))
	})

	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://example.com/", nil))

	for _, s := range spans.GetSpans() {
		fmt.Print(s.Name)
		if s.Parent.IsValid() {
			fmt.Print(" (child)")
		}
		for _, a := range s.Attributes {
			fmt.Printf(" %s=%s", a.Key, a.Value.String())
		}
		fmt.Println()
	}
	// Output:
	// sessionkit.store.create (child) sessionkit.store.operation=create sessionkit.store.kind=memstore sessionkit.store.outcome=ok
	// GET /
}
