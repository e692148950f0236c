package sessionctltest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cmd/internal/sessionctl"
	"github.com/sessionkit/sessionkit/cmd/internal/storeurl"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/internal/testserver"
)

// checkPurge runs purge on a store that holds d.expired expired records,
// and stats again.
func checkPurge(t *testing.T, url string, d *dataset) {
	t.Helper()
	var p sessionctl.Purged
	ctlJSON(t, &p, "purge", "--store", url)
	if p.Deleted != d.expired || p.NativeExpiry {
		t.Errorf("purge: %+v, want %d deleted", p, d.expired)
	}
	checkStats(t, url, d, 0)
}

// TestPostgresToRedis is an operator's day with a PostgreSQL store: stats,
// purge, then a migration to Redis that loses no session.
func TestPostgresToRedis(t *testing.T) {
	pg := testserver.StartPostgres(t)
	rd := testserver.StartRedis(t)
	redisURL := "redis://" + rd.Addr
	d := generate(count(t), true)
	seed(t, pg.DSN, d)
	checkStats(t, pg.DSN, d, d.expired)
	checkPurge(t, pg.DSN, d)
	roundTrip(t, pg.DSN, redisURL, d)
	checkStats(t, redisURL, d, 0)

	// Importing again skips every session: they exist.
	var sum sessionctl.Transfer
	out := filepath.Join(t.TempDir(), "again.jsonl")
	ctlJSON(t, &sum, "export", "--store", pg.DSN, "--out", out)
	ctlJSON(t, &sum, "import", "--store", redisURL, "--in", out)
	if sum.Imported != 0 || sum.Existing != len(d.live) {
		t.Errorf("second import: %+v, want %d existing", sum, len(d.live))
	}

	var p sessionctl.Purged
	ctlJSON(t, &p, "purge", "--store", redisURL)
	if !p.NativeExpiry || p.Deleted != 0 {
		t.Errorf("purge on Redis: %+v", p)
	}
	if r := ctl(t, nil, "purge", "--store", redisURL); r.code != 0 || !strings.Contains(r.stdout, "nothing to purge") {
		t.Errorf("purge on Redis (text): exit %d %q", r.code, r.stdout)
	}
	checkUserCommands(t, pg.DSN, d)
}

// TestSQLite is stats and purge on a SQLite file.
func TestSQLite(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
	d := generate(count(t), true)
	seed(t, url, d)
	checkStats(t, url, d, d.expired)
	checkPurge(t, url, d)
}

// TestSQLiteToFerretDB migrates from SQLite to a MongoDB-protocol server,
// and purges expired records there, with ferretCount sessions. The server
// is FerretDB v1 on its PostgreSQL back end. Both of its back ends look a
// document up by _id with a sequential scan (PostgreSQL: a containment test
// that the _id index cannot serve; SQLite: an expression that is not the
// index's), so export reads every record with one query (mongostore's
// IterateRecords) rather than a Load per session, and import inserts a
// thousand per command (CreateMany): 100,000 sessions take two to four
// minutes in all, where exporting 4,900 by Load took 35 s.
func TestSQLiteToFerretDB(t *testing.T) {
	sqliteURL := "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
	pg := testserver.StartPostgres(t)
	mongoURL := ferretdbtest.StartPostgreSQL(t, pg.DSN).URI() + "sessions"
	d := generate(ferretCount(t), true)
	seed(t, sqliteURL, d)
	roundTrip(t, sqliteURL, mongoURL, d)

	// Importing sessions that FerretDB has already skips them (CreateMany
	// reports them taken) and keeps the stored ones.
	var again bytes.Buffer
	n, key := 0, ""
	for _, r := range d.live {
		if n++; n > 100 {
			break
		}
		key = r.ID
		l := sessionctl.LineOf(r)
		l.Values = map[string][]byte{"changed": []byte("1")}
		if err := json.NewEncoder(&again).Encode(l); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	r := ctl(t, &again, "import", "--store", mongoURL, "--json")
	var sum sessionctl.Transfer
	if err := json.Unmarshal([]byte(r.stdout), &sum); r.code != 0 || err != nil || sum.Imported != 0 || sum.Existing != 100 {
		t.Errorf("import of existing sessions: exit %d %+v %v %s", r.code, sum, err, r.stderr)
	}
	t.Logf("import of 100 existing sessions into %s: %v", sum.Store, time.Since(start).Round(time.Millisecond))
	b, err := storeurl.Open(t.Context(), mongoURL, storeurl.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if rec, err := b.Store.Load(t.Context(), key); err != nil || rec == nil || !maps.EqualFunc(rec.Values, d.live[key].Values, bytes.Equal) {
		t.Errorf("session %s after the second import: %+v, %v; want its values unchanged", key, rec, err)
	}

	// The export skipped the expired records; put them into FerretDB for
	// stats and purge.
	var expired []*sessionkit.Record
	for _, r := range d.recs {
		if _, live := d.live[r.ID]; !live {
			expired = append(expired, r)
		}
	}
	seed(t, mongoURL, &dataset{recs: expired})
	checkStats(t, mongoURL, d, d.expired)
	checkPurge(t, mongoURL, d)
	checkUserCommands(t, mongoURL, d)
}

// TestRedisClusterToSQLite reads a Redis Cluster, whose sessions are
// spread over three masters, and moves them to SQLite.
func TestRedisClusterToSQLite(t *testing.T) {
	clusterURL := "redis+cluster://" + strings.Join(testserver.StartRedisCluster(t), ",")
	sqliteURL := "sqlite:" + filepath.Join(t.TempDir(), "sessions.db")
	d := generate(count(t), false)
	seed(t, clusterURL, d)
	checkStats(t, clusterURL, d, 0)
	var p sessionctl.Purged
	ctlJSON(t, &p, "purge", "--store", clusterURL)
	if !p.NativeExpiry {
		t.Errorf("purge on Redis Cluster: %+v", p)
	}
	roundTrip(t, clusterURL, sqliteURL, d)
	checkUserCommands(t, clusterURL, d)
}

// TestUnreachable checks the one-line error and exit code for stores that
// do not answer, and that the password in the URL is not repeated.
func TestUnreachable(t *testing.T) {
	port := testserver.FreePort(t)
	for _, url := range []string{
		fmt.Sprintf("redis://:s3cret-pw@127.0.0.1:%d", port),
		fmt.Sprintf("redis+cluster://:s3cret-pw@127.0.0.1:%d,127.0.0.1:%d", port, port),
		fmt.Sprintf("postgres://u:s3cret-pw@127.0.0.1:%d/db?sslmode=disable", port),
		fmt.Sprintf("mongodb://u:s3cret-pw@127.0.0.1:%d/db", port),
		"sqlite:" + filepath.Join(t.TempDir(), "no", "such", "dir", "s.db"),
	} {
		r := ctl(t, nil, "stats", "--store", url, "--timeout", "2s")
		if r.code != sessionctl.ExitUnreachable || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
			!strings.HasPrefix(r.stderr, "sessionctl: open ") || strings.Contains(r.stderr, "s3cret") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", url, r.code, r.stdout, r.stderr)
		}
	}
}
