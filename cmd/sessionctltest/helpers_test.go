package sessionctltest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cmd/internal/sessionctl"
	"github.com/sessionkit/sessionkit/cmd/internal/storeurl"
)

// count is the number of sessions of the large tests: 100,000, or the
// value of SESSIONCTL_TEST_COUNT, or 2,000 with -short, or 5,000 under the
// race detector (scripts/test.sh runs the full size without it).
func count(t *testing.T) int {
	if v := os.Getenv("SESSIONCTL_TEST_COUNT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SESSIONCTL_TEST_COUNT: %v", err)
		}
		return n
	}
	switch {
	case testing.Short():
		return 2000
	case raceEnabled:
		return 5000
	}
	return 100_000
}

// ferretCount is the number of sessions of the FerretDB test: count(t),
// or 1,000 under the race detector (which slows the FerretDB server
// running inside the test binary as much as the code under test), or the
// value of SESSIONCTL_TEST_FERRETDB_COUNT. Export and import take one
// query per thousand sessions there (mongostore's IterateRecords and
// CreateMany), since FerretDB v1 finds a document by _id with a
// sequential scan: a Load per session would take time in proportion to
// the square of the count.
func ferretCount(t *testing.T) int {
	if v := os.Getenv("SESSIONCTL_TEST_FERRETDB_COUNT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("SESSIONCTL_TEST_FERRETDB_COUNT: %v", err)
		}
		return n
	}
	if raceEnabled {
		return min(1000, count(t))
	}
	return count(t)
}

// result is what one sessionctl run printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// ctl runs sessionctl in-process with args, as the binary would.
func ctl(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := sessionctl.Main(context.Background(), args, sessionctl.Env{
		Stdin: stdin, Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" },
	})
	return result{out.String(), errb.String(), code}
}

// ctlJSON runs sessionctl with --json, checks it succeeded and decodes
// its output into v.
func ctlJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	r := ctl(t, nil, append(args, "--json")...)
	if r.code != 0 {
		t.Fatalf("sessionctl %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("sessionctl %s: output %q: %v", strings.Join(args, " "), r.stdout, err)
	}
}

// Ages and idle times of the generated sessions, each well inside one
// histogram bucket so that a slow test run does not move it.
var (
	ages  = []time.Duration{10 * time.Minute, 3 * time.Hour, 2 * 24 * time.Hour, 10 * 24 * time.Hour, 60 * 24 * time.Hour}
	idles = []time.Duration{time.Minute, 20 * time.Minute, 3 * time.Hour, 3 * 24 * time.Hour, 10 * 24 * time.Hour}
)

// dataset is a generated set of sessions.
type dataset struct {
	recs    []*sessionkit.Record
	live    map[string]*sessionkit.Record // by key
	expired int
}

// generate returns n sessions: anonymous ones, persistent ones, users with
// many sessions, empty and binary values, with and without metadata. With
// withExpired, one in 50 has expired already (these belong to users named
// "gone-…", so that the other users' sessions are all live).
func generate(n int, withExpired bool) *dataset {
	now := time.Now()
	d := &dataset{live: make(map[string]*sessionkit.Record, n)}
	for i := range n {
		sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		age, idle := ages[i%len(ages)], idles[(i/len(ages))%len(idles)]
		created := now.Add(-age)
		last := now.Add(-idle)
		if last.Before(created) {
			last = created
		}
		r := &sessionkit.Record{
			ID:             base64.RawURLEncoding.EncodeToString(sum[:]),
			CreatedAt:      created,
			LastSeen:       last,
			ExpiresAt:      now.Add(time.Duration(1+i%48) * time.Hour),
			AbsoluteExpiry: created.Add(90 * 24 * time.Hour),
			Persistent:     i%3 == 0,
			Values:         map[string][]byte{},
		}
		if i%7 != 0 {
			r.UserID = fmt.Sprintf("user-%d", i%(n/20+1))
			r.Values["uid"] = []byte(`"` + r.UserID + `"`)
		}
		if i%11 != 0 {
			r.Values["blob"] = sum[:i%32]
			r.Values["csrf"] = []byte(strconv.Itoa(i))
		}
		if i%5 != 0 {
			r.Meta = map[string]string{"ip": fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "ua": "Mozilla/5.0 test " + strconv.Itoa(i%13)}
		}
		if withExpired && i%50 == 1 {
			r.UserID = fmt.Sprintf("gone-%d", i%10)
			r.LastSeen = now.Add(-3 * time.Hour)
			r.ExpiresAt = now.Add(-2 * time.Hour)
			d.expired++
		} else {
			d.live[r.ID] = r
		}
		d.recs = append(d.recs, r)
	}
	return d
}

// seed creates d's records in the store at url.
func seed(t *testing.T, url string, d *dataset) {
	t.Helper()
	start := time.Now()
	b, err := storeurl.Open(t.Context(), url, storeurl.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	defer b.Close()
	g, ctx := errgroup.WithContext(t.Context())
	g.SetLimit(16)
	for _, r := range d.recs {
		g.Go(func() error { return b.Store.Create(ctx, r) })
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("seed %s: %v", b.Kind, err)
	}
	t.Logf("seeded %d sessions into %s in %v", len(d.recs), b.Kind, time.Since(start).Round(time.Millisecond))
}

// checkStats runs stats and compares it with d, of which wantExpired
// records are expired but still stored.
func checkStats(t *testing.T, url string, d *dataset, wantExpired int) {
	t.Helper()
	start := time.Now()
	var st sessionctl.Stats
	ctlJSON(t, &st, "stats", "--store", url, "--top", "3")
	end := time.Now()
	t.Logf("stats over %d records in %v", len(d.live)+wantExpired, time.Since(start).Round(time.Millisecond))
	want := sessionctl.Stats{Store: st.Store, Live: len(d.live), Expired: wantExpired}
	perUser := map[string]int{}
	for _, r := range d.live {
		if r.Persistent {
			want.Persistent++
		} else {
			want.Browser++
		}
		if r.UserID == "" {
			want.Anonymous++
		} else {
			perUser[r.UserID]++
		}
	}
	want.Users = len(perUser)
	got := st
	got.TopUsers, got.Age, got.Idle = nil, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stats = %+v\nwant    %+v", got, want)
	}
	if len(st.TopUsers) != min(3, len(perUser)) {
		t.Errorf("top users: %v", st.TopUsers)
	}
	for i, u := range st.TopUsers {
		if perUser[u.UserID] != u.Sessions {
			t.Errorf("top user %s: %d sessions, want %d", u.UserID, u.Sessions, perUser[u.UserID])
		}
		for other, n := range perUser {
			if n > u.Sessions && !inTop(st.TopUsers[:i], other) {
				t.Errorf("top users %v miss %s with %d sessions", st.TopUsers, other, n)
				break
			}
		}
	}
	// A session may move to the next bucket while stats runs: its count
	// is the one at the start or the one at the end.
	for _, h := range []struct {
		name    string
		buckets []sessionctl.Bucket
		since   func(*sessionkit.Record) time.Time
	}{
		{"age", st.Age, func(r *sessionkit.Record) time.Time { return r.CreatedAt }},
		{"idle", st.Idle, func(r *sessionkit.Record) time.Time { return r.LastSeen }},
	} {
		lower := time.Duration(-1 << 63)
		for _, b := range h.buckets {
			upper := time.Duration(1<<63 - 1)
			if b.UpToSeconds != 0 {
				upper = time.Duration(b.UpToSeconds) * time.Second
			}
			var n [2]int
			for i, now := range []time.Time{start, end} {
				for _, r := range d.live {
					if a := now.Sub(h.since(r)); a >= lower && a < upper {
						n[i]++
					}
				}
			}
			if b.Count != n[0] && b.Count != n[1] {
				t.Errorf("%s bucket %s: %d sessions, want %d", h.name, b.Label, b.Count, n[0])
			}
			lower = upper
		}
	}
}

func inTop(top []sessionctl.UserCount, user string) bool {
	for _, u := range top {
		if u.UserID == user {
			return true
		}
	}
	return false
}

// precision is how finely each kind of store keeps times.
var precision = map[string]time.Duration{
	"postgres": time.Microsecond,
	"mongodb":  time.Millisecond,
	"sqlite":   time.Nanosecond,
	"redis":    time.Nanosecond,
}

// readExport reads an export file into its lines by key.
func readExport(t *testing.T, path string) map[string]sessionctl.Line {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]sessionctl.Line{}
	for line := range bytes.Lines(data) {
		var l sessionctl.Line
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
		if _, dup := out[l.Key]; dup {
			t.Fatalf("%s: key %s exported twice", path, l.Key)
		}
		out[l.Key] = l
	}
	return out
}

// normalize returns l as a store of time precision prec keeps it, with
// empty maps for absent ones.
func normalize(l sessionctl.Line, prec time.Duration) string {
	for _, p := range []*time.Time{&l.CreatedAt, &l.LastSeen, &l.ExpiresAt, &l.AbsoluteExpiry} {
		*p = p.Truncate(prec).UTC()
	}
	if l.Values == nil {
		l.Values = map[string][]byte{}
	}
	if l.Meta == nil {
		l.Meta = map[string]string{}
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// compareExport checks that the export at path holds exactly d's live
// records, each complete, at time precision prec.
func compareExport(t *testing.T, path string, d *dataset, prec time.Duration) {
	t.Helper()
	got := readExport(t, path)
	if len(got) != len(d.live) {
		t.Errorf("%s: %d records, want %d", filepath.Base(path), len(got), len(d.live))
	}
	bad := 0
	for key, r := range d.live {
		want := normalize(sessionctl.LineOf(r), prec)
		l, ok := got[key]
		switch {
		case !ok:
			t.Errorf("%s: record %s missing", filepath.Base(path), key)
		case normalize(l, prec) != want:
			t.Errorf("%s: record %s\n got %s\nwant %s", filepath.Base(path), key, normalize(l, prec), want)
		default:
			continue
		}
		if bad++; bad == 5 {
			t.Fatal("too many differences")
		}
	}
}

// roundTrip exports the sessions of from, imports them into to, exports
// to, and compares both exports with d's live records.
func roundTrip(t *testing.T, from, to string, d *dataset) {
	t.Helper()
	dir := t.TempDir()
	out1, out2 := filepath.Join(dir, "from.jsonl"), filepath.Join(dir, "to.jsonl")
	start := time.Now()
	var sum sessionctl.Transfer
	ctlJSON(t, &sum, "export", "--store", from, "--out", out1)
	t.Logf("export of %d sessions from %s: %v", sum.Exported, sum.Store, time.Since(start).Round(time.Millisecond))
	if sum.Exported != len(d.live) {
		t.Errorf("export: %+v, want %d exported", sum, len(d.live))
	}
	fromKind := sum.Store
	compareExport(t, out1, d, precision[fromKind])

	start = time.Now()
	sum = sessionctl.Transfer{}
	ctlJSON(t, &sum, "import", "--store", to, "--in", out1)
	t.Logf("import of %d sessions into %s: %v", sum.Imported, sum.Store, time.Since(start).Round(time.Millisecond))
	if sum.Imported != len(d.live) || sum.Existing != 0 || sum.Expired != 0 {
		t.Errorf("import: %+v, want %d imported", sum, len(d.live))
	}
	toKind := sum.Store

	start = time.Now()
	ctlJSON(t, &sum, "export", "--store", to, "--out", out2)
	t.Logf("export of %d sessions from %s: %v", sum.Exported, sum.Store, time.Since(start).Round(time.Millisecond))
	compareExport(t, out2, d, max(precision[fromKind], precision[toKind]))
}

// checkUserCommands runs list and revoke on the user "user-1" of d, whose
// sessions are all live, and on single keys.
func checkUserCommands(t *testing.T, url string, d *dataset) {
	t.Helper()
	var want []string
	recs := map[string]*sessionkit.Record{}
	for _, r := range d.recs {
		if r.UserID == "user-1" {
			want = append(want, r.ID)
			recs[r.ID] = r
		}
	}
	if len(want) < 3 {
		t.Fatalf("user-1 has %d sessions; the test needs 3", len(want))
	}
	var list sessionctl.List
	ctlJSON(t, &list, "list", "--store", url, "--user", "user-1")
	got := map[string]sessionctl.Session{}
	for _, s := range list.Sessions {
		got[s.Key] = s
	}
	if len(got) != len(want) || list.Expired != 0 {
		t.Fatalf("list: %d sessions (%d expired), want %d", len(got), list.Expired, len(want))
	}
	for _, key := range want {
		s, r := got[key], recs[key]
		if s.Key != key || s.Persistent != r.Persistent || !maps.Equal(s.Meta, r.Meta) || !s.CreatedAt.Truncate(time.Millisecond).Equal(r.CreatedAt.Truncate(time.Millisecond)) {
			t.Errorf("list: %s = %+v, want %+v", key, s, r.Info())
		}
	}
	text := ctl(t, nil, "list", "--store", url, "--user", "user-1")
	if text.code != 0 || !strings.Contains(text.stdout, want[0]) || !strings.Contains(text.stdout, fmt.Sprintf("%d live sessions of user user-1", len(want))) {
		t.Errorf("list (text): exit %d\n%s%s", text.code, text.stdout, text.stderr)
	}

	// Revoke all but one, then that one by key.
	var rev sessionctl.Revoked
	ctlJSON(t, &rev, "revoke", "--store", url, "--user", "user-1", "--except", want[0])
	if rev.Revoked != len(want)-1 {
		t.Errorf("revoke --user --except: %+v, want %d revoked", rev, len(want)-1)
	}
	ctlJSON(t, &list, "list", "--store", url, "--user", "user-1")
	if len(list.Sessions) != 1 || list.Sessions[0].Key != want[0] {
		t.Errorf("after revoke --except: %+v", list.Sessions)
	}
	if r := ctl(t, nil, "revoke", want[0], "--store", url); r.code != 0 || r.stdout != "revoked 1 sessions\n" {
		t.Errorf("revoke KEY: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r := ctl(t, nil, "revoke", "--store", url, want[0])
	if r.code != sessionctl.ExitNotFound || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want[0]) {
		t.Errorf("revoke of a revoked KEY: exit %d %q", r.code, r.stderr)
	}
	ctlJSON(t, &list, "list", "--store", url, "--user", "user-1")
	if len(list.Sessions) != 0 {
		t.Errorf("after revoke KEY: %+v", list.Sessions)
	}
	for _, key := range want {
		delete(d.live, key)
	}
}
