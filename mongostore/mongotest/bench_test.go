package mongotest

import (
	"testing"

	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

// BenchmarkMiddleware measures a round trip through the middleware with
// mongostore on FerretDB (embedded, SQLite back end, over loopback TCP).
// The numbers measure FerretDB as much as the store; MongoDB would give
// others.
func BenchmarkMiddleware(b *testing.B) {
	srv := ferretdbtest.Start(b)
	st, _ := newStore(b, srv, mongostore.Options{})
	sessiontest.BenchmarkMiddleware(b, st)
}
