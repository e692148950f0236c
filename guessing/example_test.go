package guessing_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/guessing"
	"github.com/sessionkit/sessionkit/memstore"
)

func Example() {
	guard := guessing.New(guessing.Options{
		Threshold: 2, // tiny, for the example
		OnAlert: func(ctx context.Context, a guessing.Alert) {
			// A real app logs this (slog.WarnContext) and counts it.
			fmt.Printf("alert: %s sent %d forged tokens\n", a.Client, a.Rejected[sessionkit.RejectedForged])
		},
	})
	store := memstore.New(memstore.Options{})
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{
		Store: store, OnEvent: guard.OnEvent,
		Logger: slog.New(slog.DiscardHandler), // keep the example's output short
	})
	if err != nil {
		log.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	})
	// The detector goes outside the session middleware.
	handler := guard.Middleware(sessions.Middleware(app))

	for range 4 {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "192.0.2.1:4242"
		r.Header.Set("Cookie", sessionkit.DefaultCookieName+"=forged-value")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if ra := w.Header().Get("Retry-After"); ra != "" {
			fmt.Println(w.Code, "Retry-After:", ra)
			continue
		}
		fmt.Println(w.Code)
	}
	// Output:
	// 200
	// 200
	// alert: 192.0.2.1/32 sent 3 forged tokens
	// 200
	// 429 Retry-After: 900
}
