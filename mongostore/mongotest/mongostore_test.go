package mongotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/sessiontest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// connect returns a client of srv that gives up on an unreachable server
// after a second.
func connect(t testing.TB, srv *ferretdbtest.Server) *mongo.Client {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetServerSelectionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

// newStore returns a Store on a fresh database of srv.
func newStore(t testing.TB, srv *ferretdbtest.Server, opts mongostore.Options) (*mongostore.Store, *mongo.Collection) {
	t.Helper()
	db := connect(t, srv).Database("db" + randomID()[:8])
	s, err := mongostore.New(context.Background(), db, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	name := opts.Collection
	if name == "" {
		name = mongostore.DefaultCollection
	}
	return s, db.Collection(name)
}

// randomID returns 26 random lower-case letters and digits.
func randomID() string {
	return strings.ToLower(rand.Text())
}

func newRecord(now time.Time, userID string) *sessionkit.Record {
	return &sessionkit.Record{
		ID:             randomID(),
		UserID:         userID,
		Values:         map[string][]byte{"a": []byte(`"1"`)},
		CreatedAt:      now,
		LastSeen:       now,
		ExpiresAt:      now.Add(time.Hour),
		AbsoluteExpiry: now.Add(24 * time.Hour),
		Meta:           map[string]string{"ip": "127.0.0.1", "ua": "test"},
	}
}

// TestConformance runs the conformance suite with a new Store on a new
// database for each test. FerretDB scans a whole collection for any query
// but a lookup by _id, so small collections keep the suite fast.
func TestConformance(t *testing.T) {
	srv := ferretdbtest.Start(t)
	var mu sync.Mutex
	colls := make(map[*testing.T]*mongo.Collection)
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store {
			s, coll := newStore(t, srv, mongostore.Options{})
			mu.Lock()
			defer mu.Unlock()
			colls[t] = coll
			return s
		},
		Dump: func(t *testing.T) []byte {
			mu.Lock()
			coll := colls[t]
			mu.Unlock()
			if coll == nil {
				t.Fatal("Dump called before New")
			}
			return dump(t, srv, coll)
		},
	})
}

// dump returns every document of coll as BSON, followed by every file
// FerretDB keeps in its data directory.
func dump(t *testing.T, srv *ferretdbtest.Server, coll *mongo.Collection) []byte {
	t.Helper()
	ctx := context.Background()
	cur, err := coll.Find(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close(ctx)
	var b []byte
	for cur.Next(ctx) {
		b = append(b, cur.Current...)
	}
	if err := cur.Err(); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir(srv.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(srv.Dir(), f.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		b = append(b, data...)
	}
	return b
}

func TestIndexes(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, coll := newStore(t, srv, mongostore.Options{Collection: "sess"})
	if s.TTLIndex() {
		t.Fatal("TTLIndex() = true on FerretDB v1, which has no TTL indexes")
	}
	// New is idempotent: a second Store on the same collection starts.
	s2, err := mongostore.New(context.Background(), coll.Database(), mongostore.Options{Collection: "sess"})
	if err != nil {
		t.Fatalf("second New: %v", err)
	}
	_ = s2.Close()

	cur, err := coll.Indexes().List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var idx []bson.M
	if err := cur.All(context.Background(), &idx); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]bson.M)
	for _, ix := range idx {
		got[ix["name"].(string)] = ix
	}
	for _, name := range []string{"_id_", "uid_1", "exp_1"} {
		if _, ok := got[name]; !ok {
			t.Errorf("index %s missing; have %v", name, idx)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d indexes, want 3: %v", len(got), idx)
	}
	if _, ok := got["exp_1"]["expireAfterSeconds"]; ok {
		t.Errorf("exp_1 is a TTL index on a server without TTL indexes: %v", got["exp_1"])
	}
}

// TestDocumentShape checks the stored form documented in the package
// comment, with value keys that are not valid field names as they are.
func TestDocumentShape(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, coll := newStore(t, srv, mongostore.Options{})
	ctx := context.Background()
	now := time.Now()
	rec := newRecord(now, "alice")
	rec.Persistent = true
	rec.Values = map[string][]byte{"a.b": []byte("1"), "$x": []byte("2"), "": []byte("3"), "k": nil}
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	var doc bson.M
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: rec.ID}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"_id": rec.ID, "uid": "alice", "persist": true}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %#v, want %#v", k, doc[k], v)
		}
	}
	for _, k := range []string{"created", "last", "exp", "abs"} {
		if _, ok := doc[k].(bson.DateTime); !ok {
			t.Errorf("%s = %#v, want a Date", k, doc[k])
		}
	}
	if exp := doc["exp"].(bson.DateTime).Time(); !exp.Equal(rec.ExpiresAt.Truncate(time.Millisecond)) {
		t.Errorf("exp = %v, want %v", exp, rec.ExpiresAt)
	}
	var shape struct {
		V map[string]any `bson:"v"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: rec.ID}}).Decode(&shape); err != nil {
		t.Fatal(err)
	}
	v := shape.V
	wantV := map[string]string{"kYS5i": "1", "kJHg": "2", "k": "3", "kaw": ""}
	if len(v) != len(wantV) {
		t.Errorf("v = %v, want the fields %v", v, wantV)
	}
	for f, val := range wantV {
		b, ok := v[f].(bson.Binary)
		if !ok || string(b.Data) != val {
			t.Errorf("v.%s = %#v, want Binary %q", f, v[f], val)
		}
	}

	// Anonymous sessions have no uid field.
	anon := newRecord(now, "")
	if err := s.Create(ctx, anon); err != nil {
		t.Fatal(err)
	}
	doc = nil
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: anon.ID}}).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["uid"]; ok {
		t.Errorf("anonymous session has uid %v", doc["uid"])
	}
}

func TestOddKeys(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{})
	ctx := context.Background()
	keys := []string{"", ".", "a.b", "$", "$set", "a$b", "ключ", "\x00", "\xff\xfe", "v", "_id", "k"}
	rec := newRecord(time.Now(), "u")
	rec.Values = map[string][]byte{}
	for i, k := range keys {
		rec.Values[k] = []byte{byte(i)}
	}
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	check := func(want map[string][]byte) {
		t.Helper()
		got, err := s.Load(ctx, rec.ID)
		if err != nil || got == nil {
			t.Fatalf("Load = %v, %v", got, err)
		}
		if len(got.Values) != len(want) {
			t.Errorf("Load: %d values, want %d: %q", len(got.Values), len(want), got.Values)
		}
		for k, v := range want {
			if g, ok := got.Values[k]; !ok || !bytes.Equal(g, v) {
				t.Errorf("value %q = %q, %v; want %q", k, g, ok, v)
			}
		}
	}
	check(rec.Values)

	now := time.Now()
	d := sessionkit.Delta{
		Set:       map[string][]byte{"a.b": []byte("new"), "$new": []byte("x"), "both": []byte("y")},
		Del:       []string{"$set", "", "both", "$set"},
		LastSeen:  now,
		ExpiresAt: now.Add(time.Hour),
	}
	if err := s.Update(ctx, rec.ID, d); err != nil {
		t.Fatalf("Update: %v", err)
	}
	d.Apply(rec)
	check(rec.Values)

	d = sessionkit.Delta{
		Clear:     true,
		Set:       map[string][]byte{"$only": []byte("z"), "gone": []byte("z")},
		Del:       []string{"gone"},
		LastSeen:  now,
		ExpiresAt: now.Add(time.Hour),
	}
	if err := s.Update(ctx, rec.ID, d); err != nil {
		t.Fatalf("Update with Clear: %v", err)
	}
	check(map[string][]byte{"$only": []byte("z")})
}

func TestMetaKeys(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{})
	ctx := context.Background()
	rec := newRecord(time.Now(), "u")
	rec.Meta = map[string]string{"ip": "::1", "user agent": "Mozilla/5.0 (X11; Linux x86_64)", "": "empty", "ключ": "значение"}
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, rec.ID)
	if err != nil || got == nil {
		t.Fatalf("Load = %v, %v", got, err)
	}
	if fmt.Sprint(got.Meta) != fmt.Sprint(rec.Meta) {
		t.Errorf("Meta = %q, want %q", got.Meta, rec.Meta)
	}
}

// TestExpiry checks that the Store leaves expiry to the manager: reads
// return a session whatever its expiry, and only Create (over an expired
// ID) and DeleteExpired look at the clock, this process's. Here the
// clean-up keeps nothing (KeepExpired < 0); TestKeepExpired checks the
// retention.
func TestExpiry(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, coll := newStore(t, srv, mongostore.Options{CleanupInterval: -1, KeepExpired: -1})
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	rec := newRecord(now.Add(-3*time.Hour), "u")
	rec.ExpiresAt = now.Add(-time.Hour)
	other := newRecord(now, "u")
	other.ExpiresAt = now.Add(3 * time.Hour)
	for _, r := range []*sessionkit.Record{rec, other} {
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	if got, err := s.Load(ctx, rec.ID); err != nil || got == nil || !got.ExpiresAt.Equal(rec.ExpiresAt) {
		t.Errorf("Load of an expired session = %v, %v; want it, with its ExpiresAt", got, err)
	}
	list, err := s.ListByUser(ctx, "u")
	if err != nil || len(list) != 2 || list[0].ID != rec.ID || list[1].ID != other.ID {
		t.Errorf("ListByUser = %v, %v; want both sessions, oldest first", list, err)
	}
	page, next, err := s.Iterate(ctx, "", 10)
	if err != nil || len(page) != 2 || next != "" {
		t.Errorf("Iterate = %v, %q, %v; want both sessions", page, next, err)
	}

	// Create may reuse the ID of an expired document.
	again := newRecord(now, "u")
	again.ID = rec.ID
	again.ExpiresAt = now.Add(-time.Minute)
	if err := s.Create(ctx, again); err != nil {
		t.Fatalf("Create over an expired session: %v", err)
	}
	live := newRecord(now, "u")
	live.ID = other.ID
	if err := s.Create(ctx, live); !errors.Is(err, sessionkit.ErrExists) {
		t.Fatalf("Create over a live session: %v, want ErrExists", err)
	}

	n, err := s.DeleteExpired(ctx)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpired = %d, %v; want 1", n, err)
	}
	if n, err := coll.CountDocuments(ctx, bson.D{}); err != nil || n != 1 {
		t.Fatalf("count = %d, %v; want only the live document left", n, err)
	}
}

// TestCleanup checks the clean-up goroutine that replaces a TTL index on
// servers without TTL indexes, such as FerretDB, and that Close stops it.
func TestCleanup(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, coll := newStore(t, srv, mongostore.Options{CleanupInterval: 20 * time.Millisecond, KeepExpired: -1})
	if s.TTLIndex() {
		t.Skip("the server has TTL indexes; the Store does not clean up itself")
	}
	ctx := context.Background()
	now := time.Now()
	live := newRecord(now, "u")
	expired := newRecord(now.Add(-time.Hour), "u")
	expired.ExpiresAt = now.Add(-time.Second)
	for _, r := range []*sessionkit.Record{live, expired} {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: r.ID}, {Key: "exp", Value: r.ExpiresAt}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int64 {
		n, err := coll.CountDocuments(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(5 * time.Second); count() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("expired session not deleted after 5s: %d documents", count())
		}
	}
	if got, err := s.Load(ctx, live.ID); err != nil || got == nil {
		t.Fatalf("live session: Load = %v, %v", got, err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "x"}, {Key: "exp", Value: now.Add(-time.Second)}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := count(); n != 2 {
		t.Fatalf("%d documents after Close, want 2: the clean-up still runs", n)
	}
}

func TestUserIndex(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{})
	ctx := context.Background()
	now := time.Now()
	var recs []*sessionkit.Record
	for i := range 4 {
		r := newRecord(now.Add(time.Duration(i)*time.Second), "bob")
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	anon := newRecord(now, "")
	if err := s.Create(ctx, anon); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListByUser(ctx, "bob")
	if err != nil || len(list) != 4 {
		t.Fatalf("ListByUser = %v, %v; want 4 sessions", list, err)
	}
	for i, info := range list {
		if info.ID != recs[i].ID || info.UserID != "bob" || info.Meta["ip"] != "127.0.0.1" {
			t.Errorf("list[%d] = %+v, want %s", i, info, recs[i].ID)
		}
	}
	if list, err := s.ListByUser(ctx, ""); err != nil || len(list) != 0 {
		t.Errorf(`ListByUser("") = %v, %v; want nothing`, list, err)
	}
	if n, err := s.DeleteByUser(ctx, ""); err != nil || n != 0 {
		t.Errorf(`DeleteByUser("") = %d, %v; want 0`, n, err)
	}

	if err := s.Delete(ctx, recs[0].ID); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteByUser(ctx, "bob", recs[2].ID, "no-such-id")
	if err != nil || n != 2 {
		t.Fatalf("DeleteByUser = %d, %v; want 2", n, err)
	}
	list, err = s.ListByUser(ctx, "bob")
	if err != nil || len(list) != 1 || list[0].ID != recs[2].ID {
		t.Fatalf("ListByUser after DeleteByUser = %v, %v; want only the kept session", list, err)
	}
	if got, err := s.Load(ctx, anon.ID); err != nil || got == nil {
		t.Fatalf("anonymous session: Load = %v, %v", got, err)
	}

	// Unlinking a session removes it from the index.
	empty := ""
	d := sessionkit.Delta{UserID: &empty, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.Update(ctx, recs[2].ID, d); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListByUser(ctx, "bob"); err != nil || len(list) != 0 {
		t.Fatalf("ListByUser after unlinking = %v, %v; want nothing", list, err)
	}
}

func TestIterate(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{})
	ctx := context.Background()
	want := make(map[string]bool)
	for range 7 {
		r := newRecord(time.Now(), "")
		if err := s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		want[r.ID] = true
	}
	seen := make(map[string]bool)
	cursor, pages := "", 0
	for {
		page, next, err := s.Iterate(ctx, cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, info := range page {
			if seen[info.ID] {
				t.Errorf("%s seen twice", info.ID)
			}
			seen[info.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if pages != 3 || len(seen) != len(want) {
		t.Errorf("%d pages, %d sessions; want 3 pages, %d sessions", pages, len(seen), len(want))
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("%s not seen", id)
		}
	}
}

// TestConcurrentUpdates checks that saves that change different keys of one
// session at the same time all survive.
func TestConcurrentUpdates(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{})
	ctx := context.Background()
	rec := newRecord(time.Now(), "u")
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			now := time.Now()
			d := sessionkit.Delta{
				Set:       map[string][]byte{fmt.Sprintf("key.%d", i): []byte("v")},
				LastSeen:  now,
				ExpiresAt: now.Add(time.Hour),
			}
			if err := s.Update(ctx, rec.ID, d); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Load(ctx, rec.ID)
	if err != nil || got == nil {
		t.Fatalf("Load = %v, %v", got, err)
	}
	if len(got.Values) != 21 {
		t.Fatalf("%d values, want 21", len(got.Values))
	}
}

func TestContextCancelled(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Load(ctx, "x")
	if !errors.Is(err, context.Canceled) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Load with a cancelled context: %v; want context.Canceled, not ErrUnavailable", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := s.Delete(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Delete with an expired context: %v; want context.DeadlineExceeded", err)
	}
}

// TestServerRestart stops the server under a Store, checks that every call
// fails with ErrUnavailable, then starts the server again on the same port
// with the same data and checks that the Store recovers by itself.
func TestServerRestart(t *testing.T) {
	srv := ferretdbtest.Start(t)
	s, _ := newStore(t, srv, mongostore.Options{})
	ctx := context.Background()
	rec := newRecord(time.Now(), "carol")
	if err := s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	now := time.Now()
	calls := map[string]func(context.Context) error{
		"Load":   func(ctx context.Context) error { _, err := s.Load(ctx, rec.ID); return err },
		"Create": func(ctx context.Context) error { return s.Create(ctx, newRecord(now, "carol")) },
		"Update": func(ctx context.Context) error {
			return s.Update(ctx, rec.ID, sessionkit.Delta{LastSeen: now, ExpiresAt: now.Add(time.Hour)})
		},
		"Touch":        func(ctx context.Context) error { return s.Touch(ctx, rec.ID, now, now.Add(time.Hour)) },
		"Delete":       func(ctx context.Context) error { return s.Delete(ctx, "no-such-id") },
		"ListByUser":   func(ctx context.Context) error { _, err := s.ListByUser(ctx, "carol"); return err },
		"DeleteByUser": func(ctx context.Context) error { _, err := s.DeleteByUser(ctx, "nobody"); return err },
		"Iterate":      func(ctx context.Context) error { _, _, err := s.Iterate(ctx, "", 10); return err },
	}
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Go(func() {
			start := time.Now()
			err := call(ctx)
			if !errors.Is(err, sessionkit.ErrUnavailable) {
				t.Errorf("%s on a stopped server: %v; want ErrUnavailable", name, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s took %v to fail", name, d)
			}
		})
	}
	wg.Wait()
	// A caller's deadline shorter than the server selection timeout ends
	// the call first: the error is that deadline, not an outage of the
	// store's finding.
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.Load(tctx, rec.ID); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Load with a deadline on a stopped server: %v; want context.DeadlineExceeded, not ErrUnavailable", err)
	}

	srv.Restart()
	var got *sessionkit.Record
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err = s.Load(ctx, rec.ID)
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || got == nil {
		t.Fatalf("Load after restart = %v, %v; want the session back", got, err)
	}
	for name, call := range calls {
		if err := call(ctx); err != nil {
			t.Errorf("%s after restart: %v", name, err)
		}
	}
}
