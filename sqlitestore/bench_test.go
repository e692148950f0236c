package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/sessiontest"
	"github.com/sessionkit/sessionkit/sqlitestore"
)

// BenchmarkMiddleware measures a full round trip through the middleware
// with a store on a file database: Create is a request that starts a
// session, Read one that loads it without writing, Write one that loads it
// and changes one key. The Parallel variants run from GOMAXPROCS
// goroutines, each with its own session.
func BenchmarkMiddleware(b *testing.B) {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlitestore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sessiontest.BenchmarkMiddleware(b, s)
}
