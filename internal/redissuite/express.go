package redissuite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redislayout"
)

// ExpressOptions are the options of a store's NewExpress, which the store
// under test maps onto its own ExpressOptions type.
type ExpressOptions struct {
	Prefix     string
	TTL        time.Duration
	Cookie     express.Cookie
	MaxRetries int
}

// RunExpress checks a store in connect-redis's format on a standalone
// Redis: the JSON and expiry it writes for Go's sessions, sessions written
// by Express (captured from Express 5.3, express-session 1.19 and
// connect-redis 9), partial updates, missing and damaged sessions, touch,
// concurrent updates and the manager with express.Tokens. newStore returns the
// store on the Redis server at addr.
func RunExpress(t *testing.T, newStore func(t *testing.T, addr string, opts ExpressOptions) sessionkit.Store) {
	newEnv := func(t *testing.T, opts ExpressOptions) *expressEnv {
		t.Helper()
		srv := testserver.StartRedis(t)
		return &expressEnv{redis: inspector{t, srv.Addr}, store: newStore(t, srv.Addr, opts)}
	}
	for _, c := range []struct {
		name string
		run  func(*testing.T, func(*testing.T, ExpressOptions) *expressEnv)
	}{
		{"CreateFormat", expressCreateFormat},
		{"CreateMaxAge", expressCreateMaxAge},
		{"LoadFromExpress", expressLoadFromExpress},
		{"UpdateMovesExpires", expressUpdateMovesExpires},
		{"Missing", expressMissing},
		{"Touch", expressTouch},
		{"ConcurrentUpdates", expressConcurrentUpdates},
		{"Manager", expressManager},
		{"Remove", expressRemove},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, newEnv) })
	}
}

// expressEnv is a standalone Redis with the store under test.
type expressEnv struct {
	redis inspector
	store sessionkit.Store
}

// inspector reads and writes the test server directly.
type inspector struct {
	t    *testing.T
	addr string
}

func (i inspector) do(args ...string) string {
	i.t.Helper()
	v, err := testserver.RedisDo(i.addr, args...)
	if err != nil {
		i.t.Fatalf("%s: %v", args[0], err)
	}
	return v
}

func (i inspector) get(key string) string { return i.do("GET", key) }

func (i inspector) ttl(key string) time.Duration {
	n, _ := strconv.Atoi(i.do("TTL", key))
	return time.Duration(n) * time.Second
}

func (i inspector) set(key, value string, ttl time.Duration) {
	i.do("SET", key, value, "PX", strconv.FormatInt(ttl.Milliseconds(), 10))
}

func (i inspector) exists(key string) int {
	n, _ := strconv.Atoi(i.do("EXISTS", key))
	return n
}

func (i inspector) keys(pattern string) []string {
	if v := i.do("KEYS", pattern); v != "" {
		return strings.Split(v, "\n")
	}
	return nil
}

// expressRemove checks that the store removes sessions exactly once
// (RunRemove) and leaves connect-redis's expiry alone: no key outlives its
// session.
func expressRemove(t *testing.T, newEnv func(*testing.T, ExpressOptions) *expressEnv) {
	e := newEnv(t, ExpressOptions{})
	st, ok := e.store.(RemoveStore)
	if !ok {
		t.Fatal("the Express store does not implement sessionkit.Remover")
	}
	rec := ExpressRecord("kept", time.Now())
	if err := st.Create(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if ttl := e.redis.ttl("sess:kept"); ttl > redislayout.DefaultExpressTTL || ttl < redislayout.DefaultExpressTTL-time.Minute {
		t.Fatalf("TTL = %v; want connect-redis's %v", ttl, redislayout.DefaultExpressTTL)
	}
	RunRemove(t, st, func() *sessionkit.Record { return ExpressRecord(randomHex(16), time.Now()) })
}

// ExpressRecord returns a session in express-session's format: JSON values, a user,
// metadata and times from now.
func ExpressRecord(id string, now time.Time) *sessionkit.Record {
	return &sessionkit.Record{
		ID: id, UserID: "u1",
		Values:    map[string][]byte{"user": []byte(`"Gopher"`), "n": []byte(`42`)},
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(30 * time.Minute), AbsoluteExpiry: now.Add(24 * time.Hour),
		Meta: map[string]string{"ip": "127.0.0.1"},
	}
}

func expressCreateFormat(t *testing.T, newExpressEnv func(*testing.T, ExpressOptions) *expressEnv) {
	ctx := context.Background()
	e := newExpressEnv(t, ExpressOptions{})
	now := time.Now()
	if err := e.store.Create(ctx, ExpressRecord("GoSid", now)); err != nil {
		t.Fatal(err)
	}
	v := e.redis.get("sess:GoSid")
	prefix := `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"n":42,"user":"Gopher","sessionkit":{"userId":"u1",`
	if !strings.HasPrefix(v, prefix) {
		t.Fatalf("stored JSON\n%s\ndoes not start with\n%s", v, prefix)
	}
	if ttl := e.redis.ttl("sess:GoSid"); ttl != 86400*time.Second {
		t.Fatalf("TTL = %v, want 86400s (connect-redis default)", ttl)
	}
	if err := e.store.Create(ctx, ExpressRecord("GoSid", now)); !errors.Is(err, sessionkit.ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	got, err := e.store.Load(ctx, "GoSid")
	if err != nil || got == nil {
		t.Fatalf("Load: %v %v", got, err)
	}
	if got.UserID != "u1" || string(got.Values["user"]) != `"Gopher"` || got.Meta["ip"] != "127.0.0.1" ||
		!got.CreatedAt.Equal(now) || !got.AbsoluteExpiry.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("Load = %+v", got)
	}
}

func expressCreateMaxAge(t *testing.T, newExpressEnv func(*testing.T, ExpressOptions) *expressEnv) {
	ctx := context.Background()
	secure := false
	e := newExpressEnv(t, ExpressOptions{
		Prefix: "app:",
		Cookie: express.Cookie{MaxAge: time.Hour, Secure: &secure, SameSite: "lax", Domain: "example.com"},
	})
	if err := e.store.Create(ctx, &sessionkit.Record{ID: "x", CreatedAt: time.Now(), LastSeen: time.Now()}); err != nil {
		t.Fatal(err)
	}
	v := e.redis.get("app:x")
	re := regexp.MustCompile(`^\{"cookie":\{"originalMaxAge":3600000,"expires":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","secure":false,"httpOnly":true,"domain":"example.com","path":"/","sameSite":"lax"\},"sessionkit":`)
	if !re.MatchString(v) {
		t.Fatalf("stored JSON %s", v)
	}
	if ttl := e.redis.ttl("app:x"); ttl != time.Hour {
		t.Fatalf("TTL = %v, want 1h", ttl)
	}
}

// capturedExpress is what Express 5.3 + express-session 1.19 +
// connect-redis 9 wrote (formats reference, §1), plus values of every
// JSON type.
const capturedExpress = `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"John Doe","counter":1,"big":12345678901234567890,"ratio":0.1,"ok":true,"profile":{"name":"Ann","tags":["a","b"],"age":30},"nothing":null}`

func expressLoadFromExpress(t *testing.T, newExpressEnv func(*testing.T, ExpressOptions) *expressEnv) {
	ctx := context.Background()
	e := newExpressEnv(t, ExpressOptions{})
	// The user's last request was ten minutes ago: connect-redis set 86400 s then.
	e.redis.set("sess:C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495", capturedExpress, 86400*time.Second-10*time.Minute)
	now := time.Now()
	rec, err := e.store.Load(ctx, "C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495")
	if err != nil || rec == nil {
		t.Fatalf("Load: %v %v", rec, err)
	}
	if d := now.Sub(rec.LastSeen) - 10*time.Minute; d < -2*time.Second || d > 2*time.Second {
		t.Errorf("LastSeen %v ago, want about 10m", now.Sub(rec.LastSeen))
	}
	if rec.CreatedAt.IsZero() || rec.AbsoluteExpiry.Before(now.Add(23*time.Hour)) || rec.ExpiresAt.Before(now.Add(23*time.Hour)) {
		t.Errorf("synthesized times: %+v", rec)
	}
	if string(rec.Values["big"]) != "12345678901234567890" || string(rec.Values["profile"]) != `{"name":"Ann","tags":["a","b"],"age":30}` {
		t.Errorf("values: %q %q", rec.Values["big"], rec.Values["profile"])
	}
	if _, ok := rec.Values["cookie"]; ok {
		t.Error("the cookie object is not a value")
	}

	// Go changes one key: everything else stays as JavaScript wrote it.
	d := sessionkit.Delta{Set: map[string][]byte{"counter": []byte("2"), "lang": []byte(`"go"`)}, Del: []string{"nothing"}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	if err := e.store.Update(ctx, "C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495", d); err != nil {
		t.Fatal(err)
	}
	v := e.redis.get("sess:C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495")
	want := `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"John Doe","counter":2,"big":12345678901234567890,"ratio":0.1,"ok":true,"profile":{"name":"Ann","tags":["a","b"],"age":30},"lang":"go","sessionkit":{`
	if !strings.HasPrefix(v, want) {
		t.Fatalf("after Update:\n%s\nwant prefix\n%s", v, want)
	}
	if ttl := e.redis.ttl("sess:C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495"); ttl != 86400*time.Second {
		t.Errorf("TTL after Update = %v, want 86400s", ttl)
	}
}

func expressUpdateMovesExpires(t *testing.T, newExpressEnv func(*testing.T, ExpressOptions) *expressEnv) {
	ctx := context.Background()
	e := newExpressEnv(t, ExpressOptions{})
	old := `{"cookie":{"originalMaxAge":3600000,"expires":"2001-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"a":1}`
	e.redis.set("sess:m", old, 10*time.Minute)
	now := time.Now()
	if err := e.store.Update(ctx, "m", sessionkit.Delta{Set: map[string][]byte{"a": []byte("2")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Cookie struct{ Expires time.Time } `json:"cookie"`
	}
	if err := json.Unmarshal([]byte(e.redis.get("sess:m")), &got); err != nil {
		t.Fatal(err)
	}
	if d := got.Cookie.Expires.Sub(now.Add(time.Hour)); d < -time.Second || d > time.Second {
		t.Errorf("cookie.expires = %v, want now+1h", got.Cookie.Expires)
	}
	if ttl := e.redis.ttl("sess:m"); ttl < 3599*time.Second || ttl > time.Hour {
		t.Errorf("TTL = %v, want 3600s", ttl)
	}
}

func expressMissing(t *testing.T, newExpressEnv func(*testing.T, ExpressOptions) *expressEnv) {
	ctx := context.Background()
	e := newExpressEnv(t, ExpressOptions{})
	now := time.Now()
	if rec, err := e.store.Load(ctx, "nope"); rec != nil || err != nil {
		t.Fatalf("Load missing: %v %v", rec, err)
	}
	if err := e.store.Update(ctx, "nope", sessionkit.Delta{Set: map[string][]byte{"a": []byte("1")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("Update missing: %v", err)
	}
	if n := e.redis.exists("sess:nope"); n != 0 {
		t.Fatal("Update recreated a missing session")
	}
	if err := e.store.Touch(ctx, "nope", now, now.Add(time.Hour)); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("Touch missing: %v", err)
	}
	if err := e.store.Delete(ctx, "nope"); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
	e.redis.set("sess:bad", `{"user":"no cookie"}`, time.Hour)
	if _, err := e.store.Load(ctx, "bad"); !errors.Is(err, express.ErrMalformed) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Fatalf("Load of a session without cookie: %v", err)
	}
	if err := e.store.Create(ctx, &sessionkit.Record{ID: "v", Values: map[string][]byte{"g": {0xff}}}); !errors.Is(err, express.ErrNotJSON) {
		t.Fatalf("Create with a non-JSON value: %v", err)
	}
}

func expressTouch(t *testing.T, newExpressEnv func(*testing.T, ExpressOptions) *expressEnv) {
	ctx := context.Background()
	e := newExpressEnv(t, ExpressOptions{TTL: time.Hour})
	e.redis.set("sess:t", capturedExpress, time.Minute)
	now := time.Now()
	if err := e.store.Touch(ctx, "t", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v := e.redis.get("sess:t"); v != capturedExpress {
		t.Errorf("Touch rewrote the JSON: %s", v)
	}
	if ttl := e.redis.ttl("sess:t"); ttl != time.Hour {
		t.Errorf("TTL after Touch = %v, want the configured 1h", ttl)
	}
	rec, err := e.store.Load(ctx, "t")
	if err != nil || now.Sub(rec.LastSeen) > 2*time.Second {
		t.Fatalf("LastSeen after Touch: %v %v", rec, err)
	}
	if err := e.store.Delete(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if n := e.redis.exists("sess:t"); n != 0 {
		t.Fatal("Delete left the key")
	}
}

func expressConcurrentUpdates(t *testing.T, newExpressEnv func(*testing.T, ExpressOptions) *expressEnv) {
	ctx := context.Background()
	e := newExpressEnv(t, ExpressOptions{MaxRetries: 1000})
	e.redis.set("sess:c", capturedExpress, time.Hour)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			now := time.Now()
			d := sessionkit.Delta{Set: map[string][]byte{fmt.Sprintf("k%d", i): []byte(fmt.Sprint(i))}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
			errs <- e.store.Update(ctx, "c", d)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rec, err := e.store.Load(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if string(rec.Values[fmt.Sprintf("k%d", i)]) != fmt.Sprint(i) {
			t.Errorf("k%d lost", i)
		}
	}
	if string(rec.Values["user"]) != `"John Doe"` {
		t.Error("Express's value lost")
	}
}

// expressManager runs the manager with express-session's token scheme on
// the store: the cookie is express-session's and the store key is the
// session ID.
func expressManager(t *testing.T, newExpressEnv func(*testing.T, ExpressOptions) *expressEnv) {
	e := newExpressEnv(t, ExpressOptions{})
	tokens, err := express.NewTokens([]byte("mysecret"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := sessionkit.New(sessionkit.Config{
		Store: e.store, Tokens: tokens,
		Cookie: sessionkit.CookieConfig{Name: express.CookieName, Insecure: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		n, _, _ := sessionkit.Get[int](s, "counter")
		if err := s.Put("counter", n+1); err != nil {
			t.Error(err)
		}
		fmt.Fprint(w, n+1)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != "connect.sid" || !strings.HasPrefix(c[0].Value, "s%3A") {
		t.Fatalf("cookies %v", c)
	}
	keys := e.redis.keys("sess:*")
	if len(keys) != 1 || len(keys[0]) != len("sess:")+32 {
		t.Fatalf("keys %v", keys)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(c[0])
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Body.String() != "2" {
		t.Fatalf("second request: %q", rec.Body.String())
	}
}

// RunExpressCluster checks that a store in connect-redis's format keeps
// each of its commands (WATCH, MULTI, pipelines) on one slot of a Redis
// Cluster: every operation on sessions spread over the slots succeeds.
// newStore returns the store on the Cluster whose masters it is given.
func RunExpressCluster(t *testing.T, newStore func(t *testing.T, masters []string) sessionkit.Store) {
	ctx := context.Background()
	st := newStore(t, testserver.StartRedisCluster(t))
	now := time.Now()
	for i := range 20 {
		id := fmt.Sprintf("sid%d", i)
		if err := st.Create(ctx, ExpressRecord(id, now)); err != nil {
			t.Fatal(err)
		}
		d := sessionkit.Delta{Set: map[string][]byte{"k": []byte("1")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
		if err := st.Update(ctx, id, d); err != nil {
			t.Fatal(err)
		}
		if err := st.Touch(ctx, id, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		rec, err := st.Load(ctx, id)
		if err != nil || rec == nil || string(rec.Values["k"]) != "1" {
			t.Fatalf("Load %s: %v %v", id, rec, err)
		}
		if err := st.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}
