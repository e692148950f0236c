package sqlitestore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/sessiontest"
	"github.com/sessionkit/sessionkit/sqlitestore"
	_ "modernc.org/sqlite"
)

func openStore(t *testing.T, path string, opts sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
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

func TestConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := openStore(t, path, sqlitestore.Options{})
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store { return s },
		// Every byte on disk: the database file and its write-ahead log.
		Dump: func(t *testing.T) []byte {
			var all []byte
			for _, p := range []string{path, path + "-wal"} {
				b, err := os.ReadFile(p)
				if err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				all = append(all, b...)
			}
			return all
		},
	})
}

// TestConformanceNew runs the suite on a store given a *sql.DB with
// neither foreign keys nor immediate transactions.
func TestConformanceNew(t *testing.T) {
	s, err := sqlitestore.New(context.Background(), openDB(t, filepath.Join(t.TempDir(), "s.db")), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store { return s },
	})
}

func TestConformanceMemory(t *testing.T) {
	s := openStore(t, ":memory:", sqlitestore.Options{})
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store { return s },
	})
}

// TestSurvivesReopen checks that sessions are kept in the file.
func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecord(time.Now(), "bob")
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	s = openStore(t, path, sqlitestore.Options{})
	got, err := s.Load(ctx, rec.ID)
	if err != nil || got == nil || got.UserID != "bob" || string(got.Values["a"]) != "1" {
		t.Fatalf("after reopen Load = %+v, %v", got, err)
	}
}

// TestConcurrentWriters has many goroutines write at once, through two
// stores on the same file (twoStores).
func TestConcurrentWriters(t *testing.T) {
	twoStores(t, func(t *testing.T, _ string, a, b *sqlitestore.Store) { testConcurrentWriters(t, a, b) })
}

func testConcurrentWriters(t *testing.T, s1, s2 *sqlitestore.Store) {
	ctx := context.Background()
	now := time.Now()
	shared := newRecord(now, "carol")
	if err := s1.Create(ctx, shared); err != nil {
		t.Fatal(err)
	}
	const workers, ops = 16, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*ops)
	for w := range workers {
		s := s1
		if w%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			for i := range ops {
				rec := newRecord(now, fmt.Sprintf("user%d", w))
				if err := s.Create(ctx, rec); err != nil {
					errs <- err
					continue
				}
				// Every worker writes its own key of one shared session.
				key := fmt.Sprintf("w%d", w)
				err := s.Update(ctx, shared.ID, sessionkit.Delta{
					Set:      map[string][]byte{key: []byte(fmt.Sprint(i))},
					LastSeen: now, ExpiresAt: now.Add(time.Hour),
				})
				if err != nil {
					errs <- err
				}
				if _, err := s.Load(ctx, rec.ID); err != nil {
					errs <- err
				}
				if i%5 == 0 {
					if err := s.Delete(ctx, rec.ID); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, err := s1.Load(ctx, shared.ID)
	if err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		if v := string(got.Values[fmt.Sprintf("w%d", w)]); v != fmt.Sprint(ops-1) {
			t.Errorf("key w%d = %q, want %d: a concurrent update was lost", w, v, ops-1)
		}
	}
}

// TestCleanup checks the cleanup goroutine without retention
// (KeepExpired < 0); TestKeepExpired checks the retention.
func TestCleanup(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "s.db"))
	s, err := sqlitestore.New(ctx, db, sqlitestore.Options{CleanupInterval: 10 * time.Millisecond, KeepExpired: -1})
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
	waitFor(t, func() bool { return countRows(t, db, "sessionkit_sessions") == 1 })
	if got, err := s.Load(ctx, live.ID); err != nil || got == nil {
		t.Fatalf("the cleanup deleted a live session: %v, %v", got, err)
	}
	if n := countRows(t, db, "sessionkit_sessions_values"); n != 1 {
		t.Fatalf("values rows = %d, want 1", n)
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
	if n := countRows(t, db, "sessionkit_sessions"); n != 2 {
		t.Fatalf("rows after Close = %d, want 2: the cleanup goroutine still runs", n)
	}
	// The caller's *sql.DB is still open.
	if err := db.Ping(); err != nil {
		t.Fatalf("db closed by Close: %v", err)
	}
}

func TestDeleteExpiredBatches(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "s.db"), sqlitestore.Options{CleanupInterval: -1, KeepExpired: -1})
	for range 1001 {
		r := newRecord(time.Now(), "")
		r.ExpiresAt = time.Now().Add(-time.Second)
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 1001 {
		t.Fatalf("DeleteExpired = %d, %v; want 1001", n, err)
	}
}

func TestUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "dir", "s.db")
	_, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{})
	if !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Fatalf("Open in a missing directory = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), "sqlitestore") {
		t.Errorf("error %q does not name the store", err)
	}
	t.Log(err)
}

func TestWrongSchema(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "s.db"))
	if _, err := db.Exec(`CREATE TABLE sessions (id TEXT PRIMARY KEY, data BLOB, expiry REAL)`); err != nil {
		t.Fatal(err)
	}
	_, err := sqlitestore.New(ctx, db, sqlitestore.Options{Table: "sessions"})
	if err == nil || !strings.Contains(err.Error(), "expected schema") || !strings.Contains(err.Error(), "expires_at") {
		t.Fatalf("New on a wrong table = %v, want a schema error", err)
	}
	t.Log(err)
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "s.db"))
	for _, bad := range []string{"1abc", "a-b", "a b", "x;DROP TABLE y", strings.Repeat("a", 49)} {
		if _, err := sqlitestore.New(ctx, db, sqlitestore.Options{Table: bad}); err == nil {
			t.Errorf("Table %q accepted", bad)
		}
	}
	s, err := sqlitestore.New(ctx, db, sqlitestore.Options{Table: "my_sessions", CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Create(ctx, newRecord(time.Now(), "")); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "my_sessions"); n != 1 {
		t.Fatalf("my_sessions rows = %d", n)
	}
	if _, err := sqlitestore.Open(ctx, "x.db?mode=ro", sqlitestore.Options{}); err == nil {
		t.Error("Open accepted a path with parameters")
	}
}

func TestSchema(t *testing.T) {
	got, err := sqlitestore.Schema(sqlitestore.DefaultTable)
	if err != nil || got != sqlitestore.DefaultSchema {
		t.Fatalf("Schema(DefaultTable) differs from DefaultSchema (%v)", err)
	}
	got, _ = sqlitestore.Schema("app_sessions")
	if !strings.Contains(got, "app_sessions_values") || strings.Contains(got, "sessionkit") {
		t.Fatalf("Schema(app_sessions) = %s", got)
	}
	// Running the schema by hand, then New, works.
	db := openDB(t, filepath.Join(t.TempDir(), "s.db"))
	if _, err := db.Exec(got); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.New(context.Background(), db, sqlitestore.Options{Table: "app_sessions"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLockedByAnotherProcess holds the write lock from another connection
// beyond the busy timeout: writes fail with ErrUnavailable, reads work.
func TestLockedByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "s.db")
	s := openStore(t, path, sqlitestore.Options{BusyTimeout: 100 * time.Millisecond})
	rec := newRecord(time.Now(), "")
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	other := openDB(t, path)
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK")
	start := time.Now()
	err = s.Create(ctx, newRecord(time.Now(), ""))
	if !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Fatalf("Create while locked = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("Create gave up after %v, before the busy timeout", d)
	}
	t.Log(err)
	if got, err := s.Load(ctx, rec.ID); err != nil || got == nil {
		t.Fatalf("Load while locked = %v, %v", got, err)
	}
}
