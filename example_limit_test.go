package sessionkit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
)

// Each user may have two sessions at a time; a third login signs out the
// user's oldest device. With LimitPolicy RejectNew, SetUserID would return
// ErrTooManySessions instead.
func ExampleConfig_maxSessionsPerUser() {
	store := memstore.New(memstore.Options{}) // implements SessionLimiter
	defer store.Close()
	sessions, err := sessionkit.New(sessionkit.Config{
		Store:              store,
		MaxSessionsPerUser: 2,
		LimitPolicy:        sessionkit.EvictOldest,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnEvent: func(_ context.Context, e sessionkit.Event) {
			if e.Kind == sessionkit.EventDestroyed {
				fmt.Printf("ended a session of %s: %s\n", e.UserID, e.Reason)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	login := sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := sessions.Session(r.Context())
		if err := s.Renew(false); err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
			return
		}
		switch err := s.SetUserID("42"); {
		case errors.Is(err, sessionkit.ErrTooManySessions):
			http.Error(w, "too many sessions: sign out on another device first", http.StatusConflict)
		case err != nil:
			http.Error(w, "session error", http.StatusInternalServerError)
		}
	}))
	for i := 1; i <= 3; i++ {
		fmt.Println("login", i)
		login.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "https://example.com/login", nil))
	}
	list, _ := sessions.UserSessions(context.Background(), "42")
	fmt.Println(len(list), "sessions")
	// Output:
	// login 1
	// login 2
	// login 3
	// ended a session of 42: session limit
	// 2 sessions
}
