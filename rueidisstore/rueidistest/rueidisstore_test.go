package rueidistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/rueidisstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

// deployment is one kind of Redis deployment under test: a rueidis client
// for the store under test and a go-redis client on the same servers, to
// look at the data and to run redisstore next to it.
type deployment struct {
	name  string
	start func(t *testing.T) (rueidis.Client, redis.UniversalClient)
}

var deployments = []deployment{
	{"Standalone", standalone},
	{"Cluster", cluster},
	{"Sentinel", sentinel},
}

func standalone(t *testing.T) (rueidis.Client, redis.UniversalClient) {
	r := testserver.StartRedis(t)
	return newRueidis(t, rueidis.ClientOption{InitAddress: []string{r.Addr}}),
		newGoRedis(t, &redis.UniversalOptions{Addrs: []string{r.Addr}})
}

func cluster(t *testing.T) (rueidis.Client, redis.UniversalClient) {
	addrs := testserver.StartRedisCluster(t)
	return newRueidis(t, rueidis.ClientOption{InitAddress: addrs}),
		newGoRedis(t, &redis.UniversalOptions{Addrs: addrs, IsClusterMode: true})
}

func sentinel(t *testing.T) (rueidis.Client, redis.UniversalClient) {
	name, sentinels, _ := testserver.StartRedisSentinel(t)
	return newRueidis(t, rueidis.ClientOption{InitAddress: sentinels, Sentinel: rueidis.SentinelOption{MasterSet: name}}),
		newGoRedis(t, &redis.UniversalOptions{Addrs: sentinels, MasterName: name})
}

// newRueidis returns a rueidis client with the options the README shows.
func newRueidis(t *testing.T, opt rueidis.ClientOption) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newGoRedis(t *testing.T, opts *redis.UniversalOptions) redis.UniversalClient {
	opts.ContextTimeoutEnabled = true
	c := redis.NewUniversalClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func newStore(t *testing.T, c rueidis.Client, prefix string) *rueidisstore.Store {
	t.Helper()
	st, err := rueidisstore.New(c, rueidisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	conformance(t, rueidisstore.Options{})
}

// conformance runs the conformance suite on every deployment, with a
// store made with opts and a prefix of its own.
func conformance(t *testing.T, opts rueidisstore.Options) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c, inspect := d.start(t)
			prefix := redissuite.RandomPrefix()
			opts.Prefix = prefix
			st, err := rueidisstore.New(c, opts)
			if err != nil {
				t.Fatal(err)
			}
			sessiontest.Run(t, sessiontest.Options{
				New:  func(t *testing.T) sessionkit.Store { return st },
				Dump: func(t *testing.T) []byte { return redissuite.Dump(t, inspect, prefix) },
			})
		})
	}
}

func TestNew(t *testing.T) {
	if _, err := rueidisstore.New(nil, rueidisstore.Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	c, _ := standalone(t)
	if _, err := rueidisstore.New(c, rueidisstore.Options{Prefix: "a{b}:"}); err == nil {
		t.Error("New with a brace in the prefix succeeded")
	}
	if _, err := rueidisstore.NewExpress(nil, rueidisstore.ExpressOptions{}); err == nil {
		t.Error("NewExpress(nil) succeeded")
	}
	if _, err := rueidisstore.NewExpress(c, rueidisstore.ExpressOptions{TTL: -time.Second}); err == nil {
		t.Error("NewExpress with a negative TTL succeeded")
	}
}

func newRecord(user string) *sessionkit.Record {
	now := time.Now()
	b := make([]byte, 16)
	rand.Read(b)
	return &sessionkit.Record{
		ID: hex.EncodeToString(b), UserID: user,
		Values:    map[string][]byte{"a": []byte("1"), "b": []byte("2")},
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(24 * time.Hour),
		Meta: map[string]string{"ip": "192.0.2.1"},
	}
}

// allOps calls every method of both store formats and returns their
// errors by name. The record must exist in neither store.
func allOps(ctx context.Context, st *rueidisstore.Store, ex *rueidisstore.ExpressStore, rec *sessionkit.Record) map[string]error {
	d := sessionkit.Delta{Set: map[string][]byte{"a": []byte("3")}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
	errs := map[string]error{
		"Load":           func() error { _, err := st.Load(ctx, rec.ID); return err }(),
		"Create":         st.Create(ctx, rec),
		"Update":         st.Update(ctx, rec.ID, d),
		"Touch":          st.Touch(ctx, rec.ID, rec.LastSeen, rec.ExpiresAt),
		"Delete":         st.Delete(ctx, rec.ID),
		"ListByUser":     func() error { _, err := st.ListByUser(ctx, "u"); return err }(),
		"DeleteByUser":   func() error { _, err := st.DeleteByUser(ctx, "u"); return err }(),
		"Iterate":        func() error { _, _, err := st.Iterate(ctx, "", 10); return err }(),
		"Express.Load":   func() error { _, err := ex.Load(ctx, rec.ID); return err }(),
		"Express.Touch":  ex.Touch(ctx, rec.ID, rec.LastSeen, rec.ExpiresAt),
		"Express.Delete": ex.Delete(ctx, rec.ID),
	}
	errs["Express.Create"] = ex.Create(ctx, redissuite.ExpressRecord(rec.ID, rec.CreatedAt))
	errs["Express.Update"] = ex.Update(ctx, rec.ID, sessionkit.Delta{Set: map[string][]byte{"a": []byte("3")}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt})
	return errs
}

// TestCanceled checks that a call with a canceled context fails with
// context.Canceled, never marked as an outage, and that a call whose
// deadline passes while Redis is busy fails with
// context.DeadlineExceeded, not marked as an outage either.
func TestCanceled(t *testing.T) {
	c, inspect := standalone(t)
	st := newStore(t, c, redissuite.RandomPrefix())
	ex, err := rueidisstore.NewExpress(c, rueidisstore.ExpressOptions{Prefix: redissuite.RandomPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for op, err := range allOps(canceled, st, ex, newRecord("u")) {
		if !errors.Is(err, context.Canceled) || errors.Is(err, sessionkit.ErrUnavailable) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled and not ErrUnavailable", op, err)
		}
	}

	// A script that keeps Redis busy for a while: every call meanwhile
	// waits for it and passes its deadline.
	busy := make(chan error, 1)
	go func() {
		busy <- inspect.Eval(context.Background(), `
local t = redis.call('TIME')
local stop = t[1] * 1000000 + t[2] + 1500000
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] > stop
return 1`, nil).Err()
	}()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = st.Load(ctx, "x")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Load past its deadline: %v, want context.DeadlineExceeded and not ErrUnavailable", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Load returned %v after its 200ms deadline", d)
	}
	if err := <-busy; err != nil {
		t.Fatal(err)
	}
}

// TestUnavailable stops the server and checks that calls fail with
// ErrUnavailable (or pass their deadline while rueidis retries, then
// unmarked), then that the store recovers by itself once the server is
// back.
func TestUnavailable(t *testing.T) {
	srv := testserver.StartRedis(t)
	c := newRueidis(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}})
	st := newStore(t, c, redissuite.RandomPrefix())
	ex, err := rueidisstore.NewExpress(c, rueidisstore.ExpressOptions{Prefix: redissuite.RandomPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecord("u")
	if err := st.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	unavailable := 0
	for op, err := range allOps(ctx, st, ex, newRecord("u")) {
		switch {
		case errors.Is(err, sessionkit.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded):
			unavailable++
		case errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, sessionkit.ErrUnavailable):
		default:
			t.Errorf("%s with the server down: %v, want ErrUnavailable or the deadline", op, err)
		}
	}
	if unavailable == 0 {
		t.Error("no call failed with ErrUnavailable")
	}
	srv.Start() // empty: the test server keeps nothing on disk
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := st.Create(t.Context(), rec)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Create after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := st.Load(t.Context(), rec.ID); err != nil || got == nil {
		t.Fatalf("Load after the restart: %v, %v", got, err)
	}
}

// TestNotASession puts keys that are not sessions where a session would
// be: the store must neither return nor overwrite them, and must report a
// damaged session without quoting it.
func TestNotASession(t *testing.T) {
	c, inspect := standalone(t)
	prefix := redissuite.RandomPrefix()
	st := newStore(t, c, prefix)
	ctx := t.Context()
	key := func(id string) string { return prefix + "s:{" + id + "}" }

	inspect.HSet(ctx, key("noheader"), "v:n", "1")
	if rec, err := st.Load(ctx, "noheader"); rec != nil || err != nil {
		t.Errorf("Load(hash without header) = %v, %v; want nil, nil", rec, err)
	}
	rec := newRecord("")
	rec.ID = "noheader"
	if err := st.Create(ctx, rec); err != sessionkit.ErrExists {
		t.Errorf("Create over a hash without header = %v, want ErrExists", err)
	}
	d := sessionkit.Delta{Set: map[string][]byte{"n": []byte("2")}, LastSeen: rec.LastSeen, ExpiresAt: rec.ExpiresAt}
	if err := st.Update(ctx, "noheader", d); err != sessionkit.ErrNotFound {
		t.Errorf("Update(hash without header) = %v, want ErrNotFound", err)
	}
	if err := st.Touch(ctx, "noheader", rec.LastSeen, rec.ExpiresAt); err != sessionkit.ErrNotFound {
		t.Errorf("Touch(hash without header) = %v, want ErrNotFound", err)
	}

	inspect.Set(ctx, key("string"), "x", time.Hour)
	if _, err := st.Load(ctx, "string"); err == nil || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Load(string key) = %v, want an error that is not ErrUnavailable", err)
	}
	for _, fields := range [][]string{
		{"h", "0 0 0 secret-user", "t", "1 1", "m", "2:ip13:secret-ip"},
		{"h", "0 0 x secret-user", "t", "1 1"},
	} {
		inspect.Del(ctx, key("bad"))
		inspect.HSet(ctx, key("bad"), fields)
		rec, err := st.Load(ctx, "bad")
		if err == nil {
			t.Errorf("Load(%q) = %v, want an error", fields, rec)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("Load(%q): error %q quotes the session's data", fields, err)
		}
	}
}

func TestLimit(t *testing.T) {
	redissuite.RunLimit(t, func(t *testing.T, addr, prefix string) redissuite.LimitStore {
		return newStore(t, newRueidis(t, rueidis.ClientOption{InitAddress: []string{addr}}), prefix)
	})
}

// TestLifecycle runs the checks of Remove and Options.KeepExpired shared
// with redisstore.
func TestLifecycle(t *testing.T) {
	redissuite.RunLifecycle(t, func(t *testing.T, addr, prefix string, keep time.Duration) redissuite.LifecycleStore {
		c := newRueidis(t, rueidis.ClientOption{InitAddress: []string{addr}})
		st, err := rueidisstore.New(c, rueidisstore.Options{Prefix: prefix, KeepExpired: keep})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
