package sqlitestore_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "sessions.db"), sqlitestore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	m, err := sessionkit.New(sessionkit.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Session(r.Context()).Put("seen", true); err != nil {
			http.Error(w, "session error", http.StatusInternalServerError)
		}
	})
	_ = m.Middleware(mux) // pass to http.ListenAndServe
	// Output:
}
