package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/pgstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

func newPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newStore(t testing.TB, pool *pgxpool.Pool, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	s, err := pgstore.New(context.Background(), pool, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newRecord(now time.Time, userID string) *sessionkit.Record {
	return &sessionkit.Record{
		ID:             newID(),
		UserID:         userID,
		Values:         map[string][]byte{"a": []byte("1")},
		CreatedAt:      now,
		LastSeen:       now,
		ExpiresAt:      now.Add(time.Hour),
		AbsoluteExpiry: now.Add(24 * time.Hour),
		Meta:           map[string]string{"ip": "192.0.2.1"},
	}
}

// TestPostgres runs every test that needs a server against one server,
// each in its own database, since starting a server costs an initdb.
func TestPostgres(t *testing.T) {
	pg := testserver.StartPostgres(t)
	db := 0
	newDB := func(t *testing.T) *pgxpool.Pool {
		db++
		return newPool(t, pg.CreateDatabase(t, fmt.Sprintf("test%d", db)))
	}

	t.Run("Conformance", func(t *testing.T) {
		pool := newDB(t)
		s := newStore(t, pool, pgstore.Options{})
		sessiontest.Run(t, sessiontest.Options{
			New: func(t *testing.T) sessionkit.Store { return s },
			Dump: func(t *testing.T) []byte {
				var dump []byte
				for _, q := range []string{
					`SELECT s::text FROM sessionkit_sessions s`,
					`SELECT v::text FROM sessionkit_sessions_values v`,
					// The raw bytes too, not only their hex form.
					`SELECT value FROM sessionkit_sessions_values`,
				} {
					rows, err := pool.Query(context.Background(), q)
					if err != nil {
						t.Fatal(err)
					}
					for rows.Next() {
						var b []byte
						if err := rows.Scan(&b); err != nil {
							t.Fatal(err)
						}
						dump = append(dump, b...)
						dump = append(dump, '\n')
					}
					if err := rows.Err(); err != nil {
						t.Fatal(err)
					}
				}
				return dump
			},
		})
	})

	t.Run("ConformanceSchemaTable", func(t *testing.T) {
		pool := newDB(t)
		if _, err := pool.Exec(context.Background(), `CREATE SCHEMA auth`); err != nil {
			t.Fatal(err)
		}
		s := newStore(t, pool, pgstore.Options{Table: "auth.web_sessions", CleanupInterval: -1})
		sessiontest.Run(t, sessiontest.Options{New: func(t *testing.T) sessionkit.Store { return s }})
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM auth.web_sessions`).Scan(&n); err != nil || n == 0 {
			t.Fatalf("auth.web_sessions: %d rows, %v", n, err)
		}
	})

	t.Run("ConcurrentLinksAcrossInstances", func(t *testing.T) {
		db++
		dsn := pg.CreateDatabase(t, fmt.Sprintf("test%d", db))
		sessiontest.RunLinkAcrossInstances(t, newStore(t, newPool(t, dsn), pgstore.Options{}), newStore(t, newPool(t, dsn), pgstore.Options{}))
	})
	t.Run("ZeroTimes", func(t *testing.T) { testZeroTimes(t, newDB(t)) })
	t.Run("DeleteByUserDeletesExpired", func(t *testing.T) { testDeleteByUserDeletesExpired(t, newDB(t)) })
	t.Run("Cleanup", func(t *testing.T) { testCleanup(t, newDB(t)) })
	t.Run("KeepExpired", func(t *testing.T) { testKeepExpired(t, newDB(t)) })
	t.Run("Remove", func(t *testing.T) {
		db++
		dsn := pg.CreateDatabase(t, fmt.Sprintf("test%d", db))
		pool := newPool(t, dsn)
		testRemove(t, pool, newStore(t, pool, pgstore.Options{}), newStore(t, newPool(t, dsn), pgstore.Options{}))
	})
	t.Run("WrongSchema", func(t *testing.T) { testWrongSchema(t, newDB(t)) })
	t.Run("Options", func(t *testing.T) { testOptions(t, newDB(t)) })
	t.Run("ConcurrentNew", func(t *testing.T) { testConcurrentNew(t, newDB(t)) })
	t.Run("DeleteSeesConcurrentKeys", func(t *testing.T) { testDeleteSeesConcurrentKeys(t, newDB(t)) })
}

// testZeroTimes checks that the zero time, which timestamptz holds as the
// year 1, comes back as the zero time.
func testZeroTimes(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	s := newStore(t, pool, pgstore.Options{CleanupInterval: -1})
	rec := newRecord(time.Now(), "")
	rec.AbsoluteExpiry, rec.CreatedAt = time.Time{}, time.Time{}
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, rec.ID)
	if err != nil || got == nil || !got.AbsoluteExpiry.IsZero() || !got.CreatedAt.IsZero() {
		t.Fatalf("zero times came back as %+v, %v", got, err)
	}
}

// testDeleteByUserDeletesExpired checks that DeleteByUser deletes the
// rows of the user's expired sessions too, without counting them.
func testDeleteByUserDeletesExpired(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	s := newStore(t, pool, pgstore.Options{CleanupInterval: -1})
	live := newRecord(time.Now(), "alice")
	expired := newRecord(time.Now(), "alice")
	expired.ExpiresAt = time.Now().Add(-time.Second)
	for _, r := range []*sessionkit.Record{live, expired} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteByUser(ctx, "alice"); err != nil || n != 1 {
		t.Fatalf("DeleteByUser = %d, %v; want 1 (expired sessions do not count)", n, err)
	}
	if n := count(t, pool, "sessionkit_sessions"); n != 0 {
		t.Fatalf("DeleteByUser left %d rows (expired ones must go too)", n)
	}
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testCleanup checks the cleanup goroutine and DeleteExpired without
// retention (KeepExpired < 0); testKeepExpired checks the retention.
func testCleanup(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	s, err := pgstore.New(ctx, pool, pgstore.Options{CleanupInterval: 10 * time.Millisecond, KeepExpired: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live := newRecord(time.Now(), "dan")
	old := newRecord(time.Now(), "dan")
	old.ExpiresAt = time.Now().Add(-time.Minute)
	for _, r := range []*sessionkit.Record{live, old} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for count(t, pool, "sessionkit_sessions") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("expired session not cleaned up within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, err := s.Load(ctx, live.ID); err != nil || got == nil {
		t.Fatalf("the cleanup deleted a live session: %v, %v", got, err)
	}
	if n := count(t, pool, "sessionkit_sessions_values"); n != 1 {
		t.Fatalf("values rows = %d, want 1 (ON DELETE CASCADE)", n)
	}
	// After Close, the goroutine no longer deletes anything.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	late := newRecord(time.Now(), "")
	late.ExpiresAt = time.Now().Add(-time.Minute)
	if err := s.Create(ctx, late); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := count(t, pool, "sessionkit_sessions"); n != 2 {
		t.Fatalf("rows after Close = %d, want 2: the cleanup goroutine still runs", n)
	}
	// DeleteExpired by hand, in batches.
	s2 := newStore(t, pool, pgstore.Options{CleanupInterval: -1, KeepExpired: -1})
	for range 1500 {
		r := newRecord(time.Now(), "")
		r.ExpiresAt = time.Now().Add(-time.Second)
		r.Values = nil
		if err := s2.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s2.DeleteExpired(ctx)
	if err != nil || n != 1501 {
		t.Fatalf("DeleteExpired = %d, %v; want 1501", n, err)
	}
}

func testWrongSchema(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE sessions (token text PRIMARY KEY, data bytea, expiry timestamptz)`); err != nil {
		t.Fatal(err)
	}
	_, err := pgstore.New(ctx, pool, pgstore.Options{Table: "sessions"})
	if err == nil || !strings.Contains(err.Error(), "expected schema") || !strings.Contains(err.Error(), "missing column expires_at") {
		t.Fatalf("New on a wrong table = %v, want a schema error", err)
	}
	t.Log(err)
	if _, err := pool.Exec(ctx, `CREATE TABLE typed (id text PRIMARY KEY, user_id text, created_at timestamp,
		last_seen timestamptz, expires_at timestamptz, absolute_expiry timestamptz, persistent boolean, meta text)`); err != nil {
		t.Fatal(err)
	}
	_, err = pgstore.New(ctx, pool, pgstore.Options{Table: "typed"})
	if err == nil || !strings.Contains(err.Error(), "created_at has type timestamp without time zone") ||
		!strings.Contains(err.Error(), "meta has type text") {
		t.Fatalf("New on a mistyped table = %v, want a schema error", err)
	}
	t.Log(err)
}

func testOptions(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	for _, bad := range []string{"1abc", "a-b", "a b", "x;DROP TABLE y", "a.b.c", ".a", strings.Repeat("a", 49)} {
		if _, err := pgstore.New(ctx, pool, pgstore.Options{Table: bad}); err == nil {
			t.Errorf("Table %q accepted", bad)
		}
	}
	s := newStore(t, pool, pgstore.Options{Table: "my_sessions", CleanupInterval: -1})
	if err := s.Create(ctx, newRecord(time.Now(), "")); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, "my_sessions"); n != 1 {
		t.Fatalf("my_sessions rows = %d", n)
	}

	got, err := pgstore.Schema(pgstore.DefaultTable)
	if err != nil || got != pgstore.DefaultSchema {
		t.Fatalf("Schema(DefaultTable) differs from DefaultSchema (%v)", err)
	}
	got, _ = pgstore.Schema("app_sessions")
	if !strings.Contains(got, "app_sessions_values") || strings.Contains(got, "sessionkit") {
		t.Fatalf("Schema(app_sessions) = %s", got)
	}
	if _, err := pool.Exec(ctx, got); err != nil {
		t.Fatalf("running Schema by hand: %v", err)
	}
	newStore(t, pool, pgstore.Options{Table: "app_sessions", CleanupInterval: -1})
}

// testConcurrentNew starts several stores on a new table at once, as
// several instances of an application would.
func testConcurrentNew(t *testing.T, pool *pgxpool.Pool) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := pgstore.New(context.Background(), pool, pgstore.Options{Table: "raced", CleanupInterval: -1})
			if err != nil {
				t.Error(err)
				return
			}
			s.Close()
		})
	}
	wg.Wait()
}

// testDeleteSeesConcurrentKeys checks that an Update that waits for another
// transaction on the same session sees the keys it committed: Clear and
// Del apply to them as if the updates had run one after the other.
func testDeleteSeesConcurrentKeys(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	s := newStore(t, pool, pgstore.Options{CleanupInterval: -1})
	now := time.Now()
	for _, d := range []sessionkit.Delta{
		{Clear: true, Set: map[string][]byte{"b": []byte("2")}},
		{Del: []string{"x"}, Set: map[string][]byte{"b": []byte("2")}},
	} {
		rec := newRecord(now, "")
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Another request locks the session and writes key x.
		if _, err := tx.Exec(ctx, `UPDATE sessionkit_sessions SET last_seen = last_seen WHERE id = $1`, rec.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO sessionkit_sessions_values VALUES ($1, 'x', '\x01')`, rec.ID); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			d.LastSeen, d.ExpiresAt = now, now.Add(time.Hour)
			done <- s.Update(ctx, rec.ID, d)
		}()
		// Wait until the Update waits for the lock, then let it go.
		deadline := time.Now().Add(5 * time.Second)
		for {
			var waiting int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("Update never waited for the row lock")
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx, rec.ID)
		if err != nil || got == nil {
			t.Fatalf("Load = %v, %v", got, err)
		}
		if _, ok := got.Values["x"]; ok || string(got.Values["b"]) != "2" {
			t.Fatalf("Clear=%v Del=%v: values after the update = %q; want x gone and b=2", d.Clear, d.Del, got.Values)
		}
	}
}

// TestUnavailable checks the error when no server listens.
func TestUnavailable(t *testing.T) {
	port := testserver.FreePort(t)
	pool := newPool(t, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port))
	_, err := pgstore.New(context.Background(), pool, pgstore.Options{})
	if !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Fatalf("New with no server = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "pgstore") {
		t.Errorf("error %q does not name the store", err)
	}
	t.Log(err)
}

// TestRestart stops the server under a store: calls fail with
// ErrUnavailable, then work again once the server is back.
func TestRestart(t *testing.T) {
	pg := testserver.StartPostgres(t)
	pool := newPool(t, pg.DSN)
	s := newStore(t, pool, pgstore.Options{CleanupInterval: -1})
	ctx := context.Background()
	rec := newRecord(time.Now(), "eve")
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.Load(cctx, rec.ID); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Fatalf("Load with the server down = %v, want ErrUnavailable", err)
	}
	if err := s.Touch(cctx, rec.ID, time.Now(), time.Now().Add(time.Hour)); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Fatalf("Touch with the server down = %v, want ErrUnavailable", err)
	}
	pg.Start()
	got, err := s.Load(ctx, rec.ID)
	if err != nil || got == nil || got.UserID != "eve" {
		t.Fatalf("Load after restart = %+v, %v", got, err)
	}
}
