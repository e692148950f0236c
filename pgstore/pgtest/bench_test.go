package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/pgstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

// BenchmarkMiddleware measures a full round trip through the middleware
// with a store on a PostgreSQL server that the benchmark starts on
// loopback: Create is a request that starts a session, Read one that loads
// it without writing, Write one that loads it and changes one key. The
// Parallel variants run from GOMAXPROCS goroutines, each with its own
// session.
func BenchmarkMiddleware(b *testing.B) {
	pg := testserver.StartPostgres(b)
	pool, err := pgxpool.New(context.Background(), pg.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	s, err := pgstore.New(context.Background(), pool, pgstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	sessiontest.BenchmarkMiddleware(b, s)
}
