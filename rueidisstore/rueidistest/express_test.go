package rueidistest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// expressEnv is a standalone Redis with an ExpressStore and a go-redis
// client to look at the data.
type expressEnv struct {
	srv    *testserver.Redis
	client *redis.Client
	store  *rueidisstore.ExpressStore
}

func newExpressEnv(t *testing.T, opts rueidisstore.ExpressOptions) *expressEnv {
	t.Helper()
	srv := testserver.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	st, err := rueidisstore.NewExpress(newRueidis(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}}), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &expressEnv{srv: srv, client: client, store: st}
}

func expressRecord(id string, now time.Time) *sessionkit.Record {
	return &sessionkit.Record{
		ID: id, UserID: "u1",
		Values:    map[string][]byte{"user": []byte(`"Gopher"`), "n": []byte(`42`)},
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(30 * time.Minute), AbsoluteExpiry: now.Add(24 * time.Hour),
		Meta: map[string]string{"ip": "127.0.0.1"},
	}
}

func TestExpressCreateFormat(t *testing.T) {
	ctx := context.Background()
	e := newExpressEnv(t, rueidisstore.ExpressOptions{})
	now := time.Now()
	if err := e.store.Create(ctx, expressRecord("GoSid", now)); err != nil {
		t.Fatal(err)
	}
	v, err := e.client.Get(ctx, "sess:GoSid").Result()
	if err != nil {
		t.Fatal(err)
	}
	prefix := `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"n":42,"user":"Gopher","sessionkit":{"userId":"u1",`
	if !strings.HasPrefix(v, prefix) {
		t.Fatalf("stored JSON\n%s\ndoes not start with\n%s", v, prefix)
	}
	if ttl := e.client.TTL(ctx, "sess:GoSid").Val(); ttl != 86400*time.Second {
		t.Fatalf("TTL = %v, want 86400s (connect-redis default)", ttl)
	}
	if err := e.store.Create(ctx, expressRecord("GoSid", now)); !errors.Is(err, sessionkit.ErrExists) {
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

func TestExpressCreateMaxAge(t *testing.T) {
	ctx := context.Background()
	secure := false
	e := newExpressEnv(t, rueidisstore.ExpressOptions{
		Prefix: "app:",
		Cookie: express.Cookie{MaxAge: time.Hour, Secure: &secure, SameSite: "lax", Domain: "example.com"},
	})
	if err := e.store.Create(ctx, &sessionkit.Record{ID: "x", CreatedAt: time.Now(), LastSeen: time.Now()}); err != nil {
		t.Fatal(err)
	}
	v := e.client.Get(ctx, "app:x").Val()
	re := regexp.MustCompile(`^\{"cookie":\{"originalMaxAge":3600000,"expires":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","secure":false,"httpOnly":true,"domain":"example.com","path":"/","sameSite":"lax"\},"sessionkit":`)
	if !re.MatchString(v) {
		t.Fatalf("stored JSON %s", v)
	}
	if ttl := e.client.TTL(ctx, "app:x").Val(); ttl != time.Hour {
		t.Fatalf("TTL = %v, want 1h", ttl)
	}
}

// capturedExpress is what Express 5.3 + express-session 1.19 +
// connect-redis 9 wrote (formats reference, §1), plus values of every
// JSON type.
const capturedExpress = `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"John Doe","counter":1,"big":12345678901234567890,"ratio":0.1,"ok":true,"profile":{"name":"Ann","tags":["a","b"],"age":30},"nothing":null}`

func TestExpressLoadFromExpress(t *testing.T) {
	ctx := context.Background()
	e := newExpressEnv(t, rueidisstore.ExpressOptions{})
	// The user's last request was ten minutes ago: connect-redis set 86400 s then.
	e.client.Set(ctx, "sess:C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495", capturedExpress, 86400*time.Second-10*time.Minute)
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
	v := e.client.Get(ctx, "sess:C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495").Val()
	want := `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"John Doe","counter":2,"big":12345678901234567890,"ratio":0.1,"ok":true,"profile":{"name":"Ann","tags":["a","b"],"age":30},"lang":"go","sessionkit":{`
	if !strings.HasPrefix(v, want) {
		t.Fatalf("after Update:\n%s\nwant prefix\n%s", v, want)
	}
	if ttl := e.client.TTL(ctx, "sess:C31EoJ4Kt9HnGaetjCHM2zDy-LFtr495").Val(); ttl != 86400*time.Second {
		t.Errorf("TTL after Update = %v, want 86400s", ttl)
	}
}

func TestExpressUpdateMovesExpires(t *testing.T) {
	ctx := context.Background()
	e := newExpressEnv(t, rueidisstore.ExpressOptions{})
	old := `{"cookie":{"originalMaxAge":3600000,"expires":"2001-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"a":1}`
	e.client.Set(ctx, "sess:m", old, 10*time.Minute)
	now := time.Now()
	if err := e.store.Update(ctx, "m", sessionkit.Delta{Set: map[string][]byte{"a": []byte("2")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Cookie struct{ Expires time.Time } `json:"cookie"`
	}
	if err := json.Unmarshal([]byte(e.client.Get(ctx, "sess:m").Val()), &got); err != nil {
		t.Fatal(err)
	}
	if d := got.Cookie.Expires.Sub(now.Add(time.Hour)); d < -time.Second || d > time.Second {
		t.Errorf("cookie.expires = %v, want now+1h", got.Cookie.Expires)
	}
	if ttl := e.client.TTL(ctx, "sess:m").Val(); ttl < 3599*time.Second || ttl > time.Hour {
		t.Errorf("TTL = %v, want 3600s", ttl)
	}
}

func TestExpressMissing(t *testing.T) {
	ctx := context.Background()
	e := newExpressEnv(t, rueidisstore.ExpressOptions{})
	now := time.Now()
	if rec, err := e.store.Load(ctx, "nope"); rec != nil || err != nil {
		t.Fatalf("Load missing: %v %v", rec, err)
	}
	if err := e.store.Update(ctx, "nope", sessionkit.Delta{Set: map[string][]byte{"a": []byte("1")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("Update missing: %v", err)
	}
	if n := e.client.Exists(ctx, "sess:nope").Val(); n != 0 {
		t.Fatal("Update recreated a missing session")
	}
	if err := e.store.Touch(ctx, "nope", now, now.Add(time.Hour)); !errors.Is(err, sessionkit.ErrNotFound) {
		t.Fatalf("Touch missing: %v", err)
	}
	if err := e.store.Delete(ctx, "nope"); err != nil {
		t.Fatalf("Delete missing: %v", err)
	}
	e.client.Set(ctx, "sess:bad", `{"user":"no cookie"}`, time.Hour)
	if _, err := e.store.Load(ctx, "bad"); !errors.Is(err, express.ErrMalformed) || errors.Is(err, sessionkit.ErrUnavailable) {
		t.Fatalf("Load of a session without cookie: %v", err)
	}
	if err := e.store.Create(ctx, &sessionkit.Record{ID: "v", Values: map[string][]byte{"g": {0xff}}}); !errors.Is(err, express.ErrNotJSON) {
		t.Fatalf("Create with a non-JSON value: %v", err)
	}
}

func TestExpressTouch(t *testing.T) {
	ctx := context.Background()
	e := newExpressEnv(t, rueidisstore.ExpressOptions{TTL: time.Hour})
	e.client.Set(ctx, "sess:t", capturedExpress, time.Minute)
	now := time.Now()
	if err := e.store.Touch(ctx, "t", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if v := e.client.Get(ctx, "sess:t").Val(); v != capturedExpress {
		t.Errorf("Touch rewrote the JSON: %s", v)
	}
	if ttl := e.client.TTL(ctx, "sess:t").Val(); ttl != time.Hour {
		t.Errorf("TTL after Touch = %v, want the configured 1h", ttl)
	}
	rec, err := e.store.Load(ctx, "t")
	if err != nil || now.Sub(rec.LastSeen) > 2*time.Second {
		t.Fatalf("LastSeen after Touch: %v %v", rec, err)
	}
	if err := e.store.Delete(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if n := e.client.Exists(ctx, "sess:t").Val(); n != 0 {
		t.Fatal("Delete left the key")
	}
}

func TestExpressConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	e := newExpressEnv(t, rueidisstore.ExpressOptions{MaxRetries: 1000})
	e.client.Set(ctx, "sess:c", capturedExpress, time.Hour)
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

// TestExpressManager runs the manager in Express mode on the store: the
// cookie is express-session's and the store key is the session ID.
func TestExpressManager(t *testing.T) {
	e := newExpressEnv(t, rueidisstore.ExpressOptions{})
	m, err := sessionkit.New(sessionkit.Config{
		Store: e.store, Express: true, Secrets: [][]byte{[]byte("mysecret")},
		Cookie: sessionkit.CookieConfig{Insecure: true},
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
	keys := e.client.Keys(context.Background(), "sess:*").Val()
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

// TestExpressCluster checks that the store's commands (WATCH, MULTI,
// pipelines, the dedicated connection) stay on one slot.
func TestExpressCluster(t *testing.T) {
	ctx := context.Background()
	client, _ := cluster(t)
	st, err := rueidisstore.NewExpress(client, rueidisstore.ExpressOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := range 20 {
		id := fmt.Sprintf("sid%d", i)
		if err := st.Create(ctx, expressRecord(id, now)); err != nil {
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
