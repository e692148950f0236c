package interop_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/redisstore"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// fixture is the directory of the Express app.
const fixture = "express"

// Profile is what the Express app stores under "profile".
type Profile struct {
	Name    string   `json:"name"`
	Age     int      `json:"age"`
	Tags    []string `json:"tags"`
	Address struct {
		City string `json:"city"`
		Zip  string `json:"zip"`
	} `json:"address"`
}

// GoThing is a struct that Go stores for JavaScript to read.
type GoThing struct {
	Name   string         `json:"name"`
	Nested map[string]int `json:"nested"`
}

// startGo serves the Go side of the tests with a manager on store that uses
// express-session's token scheme.
func startGo(t *testing.T, store sessionkit.Store, secrets ...string) string {
	return startGoConfig(t, store, nil, secrets...)
}

// startGoConfig is startGo with a change to the manager's configuration.
func startGoConfig(t *testing.T, store sessionkit.Store, tweak func(*sessionkit.Config), secrets ...string) string {
	t.Helper()
	var keys [][]byte
	for _, s := range secrets {
		keys = append(keys, []byte(s))
	}
	tokens, err := express.NewTokens(keys...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sessionkit.Config{
		Store: store, Tokens: tokens,
		Cookie: sessionkit.CookieConfig{Name: express.CookieName, Insecure: true}, // plain HTTP in tests
		Logger: slog.New(slog.DiscardHandler),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	m, err := sessionkit.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	show := func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		out := map[string]any{"id": s.ID(), "userId": s.UserID(), "keys": s.Keys()}
		if user, ok, err := sessionkit.Get[string](s, "user"); err != nil {
			http.Error(w, err.Error(), 500)
			return
		} else if ok {
			out["user"] = user
		}
		if n, ok, err := sessionkit.Get[int](s, "counter"); err != nil {
			http.Error(w, err.Error(), 500)
			return
		} else if ok {
			out["counter"] = n
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	}
	fail := func(w http.ResponseWriter, err error) bool {
		if err != nil {
			http.Error(w, err.Error(), 500)
			return true
		}
		return false
	}
	mux.HandleFunc("/session", show)
	mux.HandleFunc("/counter", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		n, _, err := sessionkit.Get[int](s, "counter")
		if fail(w, err) || fail(w, s.Put("counter", n+1)) {
			return
		}
		show(w, r)
	})
	// /profile reads what JavaScript wrote into typed Go values.
	mux.HandleFunc("/profile", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		p, okP, err1 := sessionkit.Get[Profile](s, "profile")
		price, okN, err2 := sessionkit.Get[float64](s, "price")
		admin, okB, err3 := sessionkit.Get[bool](s, "admin")
		user, okS, err4 := sessionkit.Get[string](s, "user")
		counter, okC, err5 := sessionkit.Get[int64](s, "counter")
		for _, err := range []error{err1, err2, err3, err4, err5} {
			if fail(w, err) {
				return
			}
		}
		json.NewEncoder(w).Encode(map[string]any{
			"found":   okP && okN && okB && okS && okC,
			"profile": p, "price": price, "admin": admin, "user": user, "counter": counter,
		})
	})
	// /go-values writes Go values for JavaScript to read.
	mux.HandleFunc("/go-values", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		for k, v := range map[string]any{
			"goString": "héllo <Go>", "goInt": 42, "goFloat": 2.5, "goBool": true,
			"goStruct": GoThing{Name: "gopher", Nested: map[string]int{"x": 1}}, "goSlice": []int{1, 2, 3},
		} {
			if fail(w, s.Put(k, v)) {
				return
			}
		}
		show(w, r)
	})
	// /put stores the JSON value v under key k.
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		var v any
		if fail(w, json.Unmarshal([]byte(r.URL.Query().Get("v")), &v)) ||
			fail(w, m.Session(r.Context()).Put(r.URL.Query().Get("k"), v)) {
			return
		}
		show(w, r)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Session(r.Context())
		user := r.URL.Query().Get("user")
		if fail(w, s.Renew(true)) || fail(w, s.SetUserID(user)) || fail(w, s.Put("user", user)) {
			return
		}
		show(w, r)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if fail(w, m.Session(r.Context()).Destroy()) {
			return
		}
		w.Write([]byte(`{"ok":true}`))
	})
	srv := httptest.NewServer(m.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv.URL
}

// backend is one way of sharing sessions: the Go store, the Express app's
// environment, and a way to check whether a session ID is stored.
type backend struct {
	store  sessionkit.Store
	env    []string
	stored func(t *testing.T, id string) bool
	// form checks how the session id is stored (nil: nothing to check).
	form func(t *testing.T, id string)
}

func redisBackend(t *testing.T) backend {
	r := testserver.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { client.Close() })
	st, err := redisstore.NewExpress(client, redisstore.ExpressOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return backend{
		store: st,
		env:   []string{"STORE=redis", "REDIS_URL=redis://" + r.Addr},
		stored: func(t *testing.T, id string) bool {
			n, err := client.Exists(context.Background(), "sess:"+id).Result()
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		},
	}
}

// ferretStart serializes ferretdbtest.Start: FerretDB's ferretdb.New
// writes a package variable, so parallel starts race.
var ferretStart sync.Mutex

func mongoBackend(t *testing.T, subdoc bool) backend {
	ferretStart.Lock()
	srv := ferretdbtest.Start(t)
	ferretStart.Unlock()
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetServerSelectionTimeout(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	db := c.Database("app")
	st, err := mongostore.NewExpress(context.Background(), db, mongostore.ExpressOptions{Subdocument: subdoc})
	if err != nil {
		t.Fatal(err)
	}
	return backend{
		store: st,
		env:   []string{"STORE=mongo", "MONGO_URL=" + srv.URI(), "MONGO_DB=app", fmt.Sprintf("STRINGIFY=%t", !subdoc)},
		stored: func(t *testing.T, id string) bool {
			n, err := db.Collection("sessions").CountDocuments(context.Background(), bson.D{{Key: "_id", Value: id}})
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		},
		form: func(t *testing.T, id string) {
			raw, err := db.Collection("sessions").FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Raw()
			if err != nil {
				t.Fatal(err)
			}
			want := bson.TypeString
			if subdoc {
				want = bson.TypeEmbeddedDocument
			}
			if got := raw.Lookup("session").Type; got != want {
				t.Errorf("session field is %v, want %v: %s", got, want, raw)
			}
			if got := raw.Lookup("expires").Type; got != bson.TypeDateTime {
				t.Errorf("expires is %v, want a Date", got)
			}
		},
	}
}

func backends() map[string]func(t *testing.T) backend {
	return map[string]func(t *testing.T) backend{
		"Redis":            redisBackend,
		"MongoStringify":   func(t *testing.T) backend { return mongoBackend(t, false) },
		"MongoSubdocument": func(t *testing.T) backend { return mongoBackend(t, true) },
	}
}

func TestExpressCreatedSession(t *testing.T) {
	for name, newBackend := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			be := newBackend(t)
			js := startNode(t, fixture, "app.js", "listening", append(be.env, `SECRETS=["mysecret"]`)...).URL
			goURL := startGo(t, be.store, "mysecret")
			b := newBrowser(t)

			// Express creates the session.
			got := b.get(js + "/js-values")
			id := got["id"].(string)
			if len(id) != 32 || !be.stored(t, id) {
				t.Fatalf("Express session %q not stored", id)
			}
			if !strings.HasPrefix(b.sid(js), "s%3A"+id+".") {
				t.Fatalf("cookie %q", b.sid(js))
			}

			// Go reads JavaScript's strings, numbers, booleans and nested
			// objects into typed values.
			p := b.get(goURL + "/profile")
			want := map[string]any{
				"found": true, "price": 12.5, "admin": true, "user": "Ann", "counter": float64(1),
				"profile": map[string]any{"name": "Ann Lee", "age": float64(31), "tags": []any{"a", "b"},
					"address": map[string]any{"city": "Oslo", "zip": "0150"}},
			}
			if !jsonEqual(p, want) {
				t.Fatalf("Go read %v\nwant %v", p, want)
			}

			// Go modifies it; Express still loads it, with Go's values as
			// natural JavaScript values.
			if g := b.get(goURL + "/counter"); g["counter"] != float64(2) || g["id"] != id {
				t.Fatalf("Go counter: %v", g)
			}
			b.get(goURL + "/go-values")
			if be.form != nil {
				be.form(t, id)
			}
			e := b.get(js + "/session")
			if e["id"] != id {
				t.Fatalf("Express lost the session after Go's write: %v", e)
			}
			s := e["session"].(map[string]any)
			types := e["types"].(map[string]any)
			for k, ty := range map[string]string{"counter": "number", "goString": "string", "goInt": "number", "goFloat": "number", "goBool": "boolean", "goStruct": "object", "goSlice": "object", "profile": "object"} {
				if types[k] != ty {
					t.Errorf("typeof req.session.%s = %v, want %s", k, types[k], ty)
				}
			}
			if s["counter"] != float64(2) || s["goString"] != "héllo <Go>" || s["goInt"] != float64(42) ||
				!jsonEqual(s["goStruct"], map[string]any{"name": "gopher", "nested": map[string]any{"x": float64(1)}}) ||
				!jsonEqual(s["goSlice"], []any{float64(1), float64(2), float64(3)}) {
				t.Errorf("Express sees %v", s)
			}
			// Express keeps writing; Go sees it.
			if e := b.get(js + "/counter"); e["session"].(map[string]any)["counter"] != float64(3) {
				t.Fatalf("Express counter: %v", e)
			}
			if g := b.get(goURL + "/session"); g["counter"] != float64(3) || g["user"] != "Ann" {
				t.Fatalf("Go after Express's write: %v", g)
			}

			// Logout on the Go side ends the session on both.
			b.get(goURL + "/logout")
			if be.stored(t, id) {
				t.Fatal("session still stored after Go's logout")
			}
			if e := b.get(js + "/session"); e["user"] != nil || e["id"] == id {
				t.Fatalf("Express still knows the session after Go's logout: %v", e)
			}
		})
	}
}

func TestGoCreatedSession(t *testing.T) {
	for name, newBackend := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			be := newBackend(t)
			js := startNode(t, fixture, "app.js", "listening", append(be.env, `SECRETS=["mysecret"]`)...).URL
			goURL := startGo(t, be.store, "mysecret")
			b := newBrowser(t)

			// An Express session first, to check that the Go login renews it.
			first := b.get(js + "/counter")["id"].(string)
			g := b.get(goURL + "/login?user=Bob")
			id := g["id"].(string)
			if id == first || be.stored(t, first) || !be.stored(t, id) {
				t.Fatalf("Go login did not renew the session: %q -> %q", first, id)
			}
			if g["counter"] != float64(1) || g["userId"] != "Bob" {
				t.Fatalf("Go login lost data: %v", g)
			}

			if be.form != nil {
				be.form(t, id)
			}
			// Express loads the session Go created and keeps it working.
			e := b.get(js + "/counter")
			if e["id"] != id || e["user"] != "Bob" || e["session"].(map[string]any)["counter"] != float64(2) {
				t.Fatalf("Express on Go's session: %v", e)
			}
			if e["session"].(map[string]any)["cookie"] == nil {
				t.Fatal("no cookie object")
			}
			if g := b.get(goURL + "/session"); g["counter"] != float64(2) || g["userId"] != "Bob" || g["id"] != id {
				t.Fatalf("Go after Express's write: %v", g)
			}

			// Logout on the Express side ends the session on both.
			b.get(js + "/logout")
			if be.stored(t, id) {
				t.Fatal("session still stored after Express's logout")
			}
			if g := b.get(goURL + "/session"); g["user"] != nil || g["id"] != "" {
				t.Fatalf("Go still knows the session after Express's logout: %v", g)
			}
			if b.sid(goURL) != "" {
				t.Error("Go did not clear the dead cookie")
			}

			// An Express login after that works on the Go side too.
			e = b.get(js + "/login?user=Cy")
			if g := b.get(goURL + "/session"); g["user"] != "Cy" || g["id"] != e["id"] {
				t.Fatalf("Go after Express's login: %v / %v", g, e)
			}
		})
	}
}

// TestSecretRotation rotates the secret on one side at a time, as a
// deployment does: cookies signed with the old secret keep working on both
// sides, and new cookies are signed with the new one.
func TestSecretRotation(t *testing.T) {
	be := redisBackend(t)
	oldJS := startNode(t, fixture, "app.js", "listening", append(be.env, `SECRETS=["old secret"]`)...).URL
	b := newBrowser(t)
	id := b.get(oldJS + "/login?user=Dee")["id"].(string)
	oldCookie := b.sid(oldJS)

	// The Go side rotates first: the old cookie still works there.
	goURL := startGo(t, be.store, "new secret", "old secret")
	if g := b.get(goURL + "/counter"); g["id"] != id || g["user"] != "Dee" {
		t.Fatalf("rotated Go with the old cookie: %v", g)
	}
	// Then the Express side: the old cookie still works there too.
	newJS := startNode(t, fixture, "app.js", "listening", append(be.env, `SECRETS=["new secret","old secret"]`)...).URL
	if e := b.get(newJS + "/session"); e["id"] != id || e["session"].(map[string]any)["counter"] != float64(1) {
		t.Fatalf("rotated Express with the old cookie: %v", e)
	}
	if b.sid(newJS) != oldCookie {
		t.Fatal("cookie changed without a reason")
	}

	// A login on the Go side signs with the new secret; rotated Express
	// accepts it, and an Express that only knows the old secret does not.
	newID := b.get(goURL + "/login?user=Dee")["id"].(string)
	newCookie := b.sid(goURL)
	if newCookie == oldCookie || !strings.HasPrefix(newCookie, "s%3A"+newID+".") {
		t.Fatalf("cookie after Go login: %q", newCookie)
	}
	if e := b.get(newJS + "/session"); e["id"] != newID || e["user"] != "Dee" {
		t.Fatalf("rotated Express with Go's new cookie: %v", e)
	}
	if e := b.get(oldJS + "/session"); e["id"] == newID || e["user"] != nil {
		t.Fatalf("Express without the new secret accepted its cookie: %v", e)
	}
	// And a session created by rotated Express works on the Go side.
	b.get(newJS + "/logout")
	id = b.get(newJS + "/login?user=Eve")["id"].(string)
	if g := b.get(goURL + "/session"); g["id"] != id || g["user"] != "Eve" {
		t.Fatalf("Go with rotated Express's cookie: %v", g)
	}
}

// jsonEqual compares two values by their JSON encoding.
func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestIdleAcrossSides checks the Go manager's idle timeout against activity
// on the Express side, which only refreshes the store's expiry: a session
// the user keeps using in Express stays alive for Go, and one nobody uses
// ends on both sides.
func TestIdleAcrossSides(t *testing.T) {
	for name, newBackend := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			be := newBackend(t)
			js := startNode(t, fixture, "app.js", "listening", append(be.env, `SECRETS=["mysecret"]`)...).URL
			const idle = 2 * time.Second
			goURL := startGoConfig(t, be.store, func(c *sessionkit.Config) {
				c.IdleTimeout, c.TouchInterval = idle, time.Hour
			}, "mysecret")
			b := newBrowser(t)
			id := b.get(js + "/login?user=Fay")["id"].(string)
			b.get(goURL + "/counter") // Go writes: its metadata now exists
			for range 3 {
				time.Sleep(idle * 2 / 3)
				b.get(js + "/session") // Express only touches
			}
			// Two idle periods since Go last saw the user, but activity in
			// Express a moment ago.
			if g := b.get(goURL + "/session"); g["id"] != id || g["user"] != "Fay" {
				t.Fatalf("Go ended a session in use on the Express side: %v", g)
			}
			time.Sleep(idle + idle/2)
			if g := b.get(goURL + "/session"); g["id"] != "" {
				t.Fatalf("Go kept an idle session: %v", g)
			}
			if be.stored(t, id) {
				t.Fatal("the idle session is still stored")
			}
		})
	}
}

// TestPersistentCookie runs both sides with cookie.maxAge set: the cookie
// object Go writes is the one Express writes, and connect-redis's TTL
// follows cookie.expires.
func TestPersistentCookie(t *testing.T) {
	r := testserver.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { client.Close() })
	st, err := redisstore.NewExpress(client, redisstore.ExpressOptions{Cookie: express.Cookie{MaxAge: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	js := startNode(t, fixture, "app.js", "listening", "STORE=redis", "REDIS_URL=redis://"+r.Addr, `SECRETS=["mysecret"]`, "MAX_AGE=3600000").URL
	goURL := startGo(t, st, "mysecret")
	b := newBrowser(t)
	ctx := context.Background()
	cookieOf := func(id string) string {
		v, err := client.Get(ctx, "sess:"+id).Result()
		if err != nil {
			t.Fatal(err)
		}
		return v[:strings.Index(v, "}")+1]
	}
	exprID := b.get(js + "/counter")["id"].(string)
	goID := b.get(goURL + "/login?user=Gil")["id"].(string)
	re := regexp.MustCompile(`^\{"cookie":\{"originalMaxAge":3600000,"expires":"[0-9T:.-]+Z","httpOnly":true,"path":"/"\}$`)
	if !re.MatchString(cookieOf(goID)) {
		t.Fatalf("Go wrote cookie %s", cookieOf(goID))
	}
	if client.Exists(ctx, "sess:"+exprID).Val() != 0 {
		t.Fatal("Go login kept the old session")
	}
	for _, id := range []string{goID} {
		if ttl := client.TTL(ctx, "sess:"+id).Val(); ttl < 3590*time.Second || ttl > time.Hour {
			t.Errorf("TTL %v, want about 3600s", ttl)
		}
	}
	// Express re-sends a persistent cookie when it saves the session.
	res, err := b.c.Get(js + "/counter")
	if err != nil {
		t.Fatal(err)
	}
	// express-session holds back the last byte of the body until the
	// store has saved the session: read it all.
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	sc := res.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "connect.sid=s%3A"+goID+".") || !strings.Contains(sc, "Expires=") {
		t.Fatalf("Express's Set-Cookie for Go's session: %q", sc)
	}
	if g := b.get(goURL + "/session"); g["counter"] != float64(2) || g["user"] != "Gil" {
		t.Fatalf("Go after Express: %v", g)
	}
}

// TestOverlappingGoRequests sends overlapping Go requests that each change
// another key of a session Express created: none of the changes is lost,
// and Express sees them all.
func TestOverlappingGoRequests(t *testing.T) {
	for name, newBackend := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			be := newBackend(t)
			js := startNode(t, fixture, "app.js", "listening", append(be.env, `SECRETS=["mysecret"]`)...).URL
			goURL := startGo(t, be.store, "mysecret")
			b := newBrowser(t)
			id := b.get(js + "/js-values")["id"].(string)
			const n = 12
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := b.c.Get(fmt.Sprintf("%s/put?k=k%d&v=%d", goURL, i, i))
					if err == nil {
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK {
							err = fmt.Errorf("put k%d: %s", i, res.Status)
						}
					}
					errs <- err
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			e := b.get(js + "/session")
			s := e["session"].(map[string]any)
			if e["id"] != id || s["user"] != "Ann" {
				t.Fatalf("Express after the Go requests: %v", e)
			}
			for i := range n {
				if s[fmt.Sprintf("k%d", i)] != float64(i) {
					t.Errorf("k%d lost: %v", i, s)
				}
			}
		})
	}
}
