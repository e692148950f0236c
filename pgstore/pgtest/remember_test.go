package pgtest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/pgstore"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/remember/remembertest"
)

func newRememberStore(t *testing.T, pool *pgxpool.Pool, table string) *pgstore.RememberStore {
	t.Helper()
	r, err := pgstore.NewRememberStore(context.Background(), newStore(t, pool, pgstore.Options{}), pgstore.RememberOptions{Table: table})
	if err != nil {
		t.Fatalf("NewRememberStore: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestRemember runs remembertest on PostgreSQL, each check on a table of
// its own; the second instance has its own pool, as another process would.
func TestRemember(t *testing.T) {
	pg := testserver.StartPostgres(t)
	dsn := pg.CreateDatabase(t, "remember")
	pool := newPool(t, dsn)
	var n atomic.Int64
	tables := map[remember.Store]string{}
	t.Run("Conformance", func(t *testing.T) {
		remembertest.Run(t, remembertest.Options{
			New: func(t *testing.T) remember.Store {
				table := fmt.Sprintf("remember_%d", n.Add(1))
				r := newRememberStore(t, pool, table)
				tables[r] = table
				return r
			},
			Reopen: func(t *testing.T, st remember.Store) remember.Store {
				return newRememberStore(t, newPool(t, dsn), tables[st])
			},
		})
	})

	t.Run("WrongSchema", func(t *testing.T) {
		if _, err := pool.Exec(t.Context(), `CREATE TABLE remember_wrong (selector text, hash text)`); err != nil {
			t.Fatal(err)
		}
		s := newStore(t, pool, pgstore.Options{})
		if _, err := pgstore.NewRememberStore(t.Context(), s, pgstore.RememberOptions{Table: "remember_wrong"}); err == nil {
			t.Error("NewRememberStore accepted a table without the expected columns")
		}
		if _, err := pgstore.RememberSchema("bad name"); err == nil {
			t.Error("RememberSchema accepted an invalid table name")
		}
	})

	t.Run("DefaultTable", func(t *testing.T) {
		r := newRememberStore(t, pool, "")
		tok := remember.Token{Selector: "s", UserID: "u"}
		if err := r.Create(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		var count int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM `+pgstore.DefaultRememberTable).Scan(&count); err != nil || count != 1 {
			t.Errorf("rows in %s: %d, %v; want 1", pgstore.DefaultRememberTable, count, err)
		}
	})
}
