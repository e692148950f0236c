package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/pgstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

// clock is a fake clock for Options.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

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

	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newDB(t)) })
	t.Run("UserIndexAndIterate", func(t *testing.T) { testUserIndexAndIterate(t, newDB(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, newDB(t)) })
	t.Run("Cleanup", func(t *testing.T) { testCleanup(t, newDB(t)) })
	t.Run("WrongSchema", func(t *testing.T) { testWrongSchema(t, newDB(t)) })
	t.Run("Options", func(t *testing.T) { testOptions(t, newDB(t)) })
	t.Run("ConcurrentNew", func(t *testing.T) { testConcurrentNew(t, newDB(t)) })
	t.Run("DeleteSeesConcurrentKeys", func(t *testing.T) { testDeleteSeesConcurrentKeys(t, newDB(t)) })
}

func testRoundTrip(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, pool, pgstore.Options{Now: clk.Now})
	now := clk.Now()
	rec := newRecord(now, "u1")
	rec.Persistent = true
	rec.Values["empty"] = []byte{}
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, rec); !errors.Is(err, sessionkit.ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
	got, err := s.Load(ctx, rec.ID)
	if err != nil || got == nil {
		t.Fatalf("Load = %v, %v", got, err)
	}
	if got.UserID != "u1" || !got.Persistent || string(got.Values["a"]) != "1" ||
		len(got.Values) != 2 || got.Meta["ip"] != "192.0.2.1" ||
		!got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(rec.ExpiresAt) ||
		!got.AbsoluteExpiry.Equal(rec.AbsoluteExpiry) || !got.LastSeen.Equal(now) {
		t.Fatalf("Load = %+v, want %+v", got, rec)
	}
	uid := ""
	off := false
	err = s.Update(ctx, rec.ID, sessionkit.Delta{
		Set:        map[string][]byte{"b": []byte("2"), "a": []byte("3")},
		Del:        []string{"empty"},
		UserID:     &uid,
		Persistent: &off,
		LastSeen:   now.Add(time.Minute),
		ExpiresAt:  now.Add(2 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = s.Load(ctx, rec.ID)
	if got.UserID != "" || got.Persistent || string(got.Values["a"]) != "3" || string(got.Values["b"]) != "2" ||
		len(got.Values) != 2 || !got.ExpiresAt.Equal(now.Add(2*time.Hour)) || !got.AbsoluteExpiry.Equal(rec.AbsoluteExpiry) {
		t.Fatalf("after Update: %+v", got)
	}
	if err := s.Update(ctx, rec.ID, sessionkit.Delta{Clear: true, Set: map[string][]byte{"c": nil},
		LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Load(ctx, rec.ID)
	if len(got.Values) != 1 || got.Values["c"] == nil {
		t.Fatalf("after Clear: %v", got.Values)
	}
	clk.Advance(time.Hour)
	if got, err := s.Load(ctx, rec.ID); got != nil || err != nil {
		t.Fatalf("Load of expired = %v, %v", got, err)
	}
	if err := s.Touch(ctx, rec.ID, now, now.Add(3*time.Hour)); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("Touch of expired = %v, want ErrNotFound", err)
	}
	// An expired record does not block a new one with the same ID.
	rec2 := newRecord(clk.Now(), "")
	rec2.ID = rec.ID
	rec2.Values = nil
	if err := s.Create(ctx, rec2); err != nil {
		t.Fatalf("Create over expired = %v", err)
	}
	got, _ = s.Load(ctx, rec.ID)
	if got == nil || len(got.Values) != 0 || got.UserID != "" {
		t.Fatalf("Create over expired left %+v", got)
	}
	// The zero time survives a round trip.
	zero := newRecord(clk.Now(), "")
	zero.AbsoluteExpiry, zero.CreatedAt = time.Time{}, time.Time{}
	if err := s.Create(ctx, zero); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load(ctx, zero.ID); got == nil || !got.AbsoluteExpiry.IsZero() || !got.CreatedAt.IsZero() {
		t.Fatalf("zero times came back as %+v", got)
	}
}

func testUserIndexAndIterate(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	clk := newClock()
	s := newStore(t, pool, pgstore.Options{Now: clk.Now})
	var ids []string
	for i := range 3 {
		rec := newRecord(clk.Now().Add(time.Duration(i)*time.Second), "alice")
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	expired := newRecord(clk.Now(), "alice")
	expired.ExpiresAt = clk.Now().Add(-time.Second)
	if err := s.Create(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, newRecord(clk.Now(), "")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListByUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != ids[0] || list[2].ID != ids[2] || list[0].Meta["ip"] == "" {
		t.Fatalf("ListByUser = %+v", list)
	}
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		page, next, err := s.Iterate(ctx, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, info := range page {
			seen[info.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != 4 || pages != 2 || seen[expired.ID] {
		t.Fatalf("Iterate saw %d sessions in %d pages", len(seen), pages)
	}
	n, err := s.DeleteByUser(ctx, "alice", ids[1])
	if err != nil || n != 2 {
		t.Fatalf("DeleteByUser = %d, %v; want 2", n, err)
	}
	list, _ = s.ListByUser(ctx, "alice")
	if len(list) != 1 || list[0].ID != ids[1] {
		t.Fatalf("after DeleteByUser: %+v", list)
	}
	var rows int
	pool.QueryRow(ctx, `SELECT count(*) FROM sessionkit_sessions WHERE user_id = 'alice'`).Scan(&rows)
	if rows != 1 {
		t.Fatalf("DeleteByUser left %d rows for alice (expired ones must go too)", rows)
	}
}

// testConcurrentWriters has many goroutines update different keys of one
// session and create their own sessions at once: no update is lost.
func testConcurrentWriters(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	s := newStore(t, pool, pgstore.Options{})
	now := time.Now()
	shared := newRecord(now, "carol")
	if err := s.Create(ctx, shared); err != nil {
		t.Fatal(err)
	}
	const workers, ops = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*ops*3)
	for w := range workers {
		wg.Go(func() {
			for i := range ops {
				rec := newRecord(now, fmt.Sprintf("user%d", w))
				if err := s.Create(ctx, rec); err != nil {
					errs <- err
				}
				err := s.Update(ctx, shared.ID, sessionkit.Delta{
					Set:      map[string][]byte{fmt.Sprintf("w%d", w): []byte(fmt.Sprint(i))},
					LastSeen: now, ExpiresAt: now.Add(time.Hour),
				})
				if err != nil {
					errs <- err
				}
				if err := s.Delete(ctx, rec.ID); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s.Load(ctx, shared.ID)
	if err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		if v := string(got.Values[fmt.Sprintf("w%d", w)]); v != fmt.Sprint(ops-1) {
			t.Errorf("key w%d = %q, want %d: a concurrent update was lost", w, v, ops-1)
		}
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

func testCleanup(t *testing.T, pool *pgxpool.Pool) {
	ctx := context.Background()
	clk := newClock()
	s, err := pgstore.New(ctx, pool, pgstore.Options{Now: clk.Now, CleanupInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live := newRecord(clk.Now(), "dan")
	old := newRecord(clk.Now(), "dan")
	old.ExpiresAt = clk.Now().Add(time.Minute)
	for _, r := range []*sessionkit.Record{live, old} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Minute)
	deadline := time.Now().Add(5 * time.Second)
	for count(t, pool, "sessionkit_sessions") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("expired session not cleaned up within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(t, pool, "sessionkit_sessions_values"); n != 1 {
		t.Fatalf("values rows = %d, want 1 (ON DELETE CASCADE)", n)
	}
	// After Close, the goroutine no longer deletes anything.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	time.Sleep(100 * time.Millisecond)
	if n := count(t, pool, "sessionkit_sessions"); n != 1 {
		t.Fatalf("rows after Close = %d, want 1: the cleanup goroutine still runs", n)
	}
	// DeleteExpired by hand, in batches.
	s2 := newStore(t, pool, pgstore.Options{Now: clk.Now, CleanupInterval: -1})
	for range 1500 {
		r := newRecord(clk.Now(), "")
		r.ExpiresAt = clk.Now().Add(time.Second)
		r.Values = nil
		if err := s2.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
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
