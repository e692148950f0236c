package mongotest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/express"
	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func newExpressStore(t *testing.T, opts mongostore.ExpressOptions) (*mongostore.ExpressStore, *mongo.Collection) {
	t.Helper()
	srv := ferretdbtest.Start(t)
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetServerSelectionTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	db := c.Database("express")
	s, err := mongostore.NewExpress(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, db.Collection("sessions")
}

// forEachMode runs f with connect-mongo's default (stringify: true) and
// with stringify: false.
func forEachMode(t *testing.T, f func(t *testing.T, subdoc bool)) {
	for _, subdoc := range []bool{false, true} {
		name := "Stringify"
		if subdoc {
			name = "Subdocument"
		}
		t.Run(name, func(t *testing.T) { f(t, subdoc) })
	}
}

// sessionJSON returns the stored session field as JSON, whatever its form.
func sessionJSON(t *testing.T, coll *mongo.Collection, id string) (string, bson.Raw) {
	t.Helper()
	raw, err := coll.FindOne(context.Background(), bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	v := raw.Lookup("session")
	if s, ok := v.StringValueOK(); ok {
		return s, raw
	}
	return v.String(), raw
}

func TestExpressMongoCreate(t *testing.T) {
	forEachMode(t, func(t *testing.T, subdoc bool) {
		ctx := context.Background()
		s, coll := newExpressStore(t, mongostore.ExpressOptions{Subdocument: subdoc, Cookie: express.Cookie{MaxAge: time.Hour}})
		now := time.Now()
		rec := &sessionkit.Record{ID: "GoSid", UserID: "u1", Values: map[string][]byte{"user": []byte(`"Gopher"`), "n": []byte("7")},
			CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(24 * time.Hour)}
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := s.Create(ctx, rec); !errors.Is(err, sessionkit.ErrExists) {
			t.Fatalf("second Create: %v", err)
		}
		js, raw := sessionJSON(t, coll, "GoSid")
		exp := raw.Lookup("expires").Time()
		if d := exp.Sub(now.Add(time.Hour)); d < -time.Second || d > time.Second {
			t.Errorf("expires = %v, want now+1h", exp)
		}
		if subdoc {
			if ty := raw.Lookup("session", "cookie", "expires").Type; ty != bson.TypeDateTime {
				t.Errorf("session.cookie.expires is %v, want a Date", ty)
			}
			if ty := raw.Lookup("session", "n").Type; ty != bson.TypeInt32 {
				t.Errorf("session.n is %v, want int32", ty)
			}
		} else if !strings.HasPrefix(js, `{"cookie":{"originalMaxAge":3600000,"expires":"`) || !strings.Contains(js, `"httpOnly":true,"path":"/"},"n":7,"user":"Gopher","sessionkit":{`) {
			t.Errorf("session = %s", js)
		}
		got, err := s.Load(ctx, "GoSid")
		if err != nil || got == nil || got.UserID != "u1" || string(got.Values["n"]) != "7" || !got.CreatedAt.Equal(now) {
			t.Fatalf("Load = %+v, %v", got, err)
		}
	})
}

func TestExpressMongoFromExpress(t *testing.T) {
	forEachMode(t, func(t *testing.T, subdoc bool) {
		ctx := context.Background()
		s, coll := newExpressStore(t, mongostore.ExpressOptions{Subdocument: subdoc})
		now := time.Now()
		// What connect-mongo writes (formats reference, §5), with a value of
		// each JSON type; the user was last active an hour ago.
		js := `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"John Doe","counter":1,"ratio":0.5,"ok":true,"profile":{"name":"Ann","tags":["a","b"]}}`
		var session any = js
		if subdoc {
			session = bson.D{
				{Key: "cookie", Value: bson.D{{Key: "originalMaxAge", Value: nil}, {Key: "expires", Value: nil}, {Key: "httpOnly", Value: true}, {Key: "path", Value: "/"}}},
				{Key: "user", Value: "John Doe"}, {Key: "counter", Value: int32(1)}, {Key: "ratio", Value: 0.5}, {Key: "ok", Value: true},
				{Key: "profile", Value: bson.D{{Key: "name", Value: "Ann"}, {Key: "tags", Value: bson.A{"a", "b"}}}},
			}
		}
		doc := bson.D{{Key: "_id", Value: "ExpressSid"}, {Key: "expires", Value: now.Add(mongostore.DefaultExpressTTL - time.Hour)}, {Key: "session", Value: session}}
		if _, err := coll.InsertOne(ctx, doc); err != nil {
			t.Fatal(err)
		}
		rec, err := s.Load(ctx, "ExpressSid")
		if err != nil || rec == nil {
			t.Fatalf("Load: %v %v", rec, err)
		}
		if d := now.Sub(rec.LastSeen) - time.Hour; d < -2*time.Second || d > 2*time.Second {
			t.Errorf("LastSeen %v ago, want about 1h", now.Sub(rec.LastSeen))
		}
		if string(rec.Values["profile"]) != `{"name":"Ann","tags":["a","b"]}` || string(rec.Values["ratio"]) != "0.5" || string(rec.Values["counter"]) != "1" {
			t.Errorf("values %q %q %q", rec.Values["profile"], rec.Values["ratio"], rec.Values["counter"])
		}
		d := sessionkit.Delta{Set: map[string][]byte{"counter": []byte("2")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.Update(ctx, "ExpressSid", d); err != nil {
			t.Fatal(err)
		}
		got, _ := sessionJSON(t, coll, "ExpressSid")
		if !subdoc {
			want := `{"cookie":{"originalMaxAge":null,"expires":null,"httpOnly":true,"path":"/"},"user":"John Doe","counter":2,"ratio":0.5,"ok":true,"profile":{"name":"Ann","tags":["a","b"]},"sessionkit":{`
			if !strings.HasPrefix(got, want) {
				t.Errorf("after Update\n%s\nwant prefix\n%s", got, want)
			}
		} else {
			_, raw := sessionJSON(t, coll, "ExpressSid")
			sess := raw.Lookup("session").Document()
			keys := []string{}
			elems, _ := sess.Elements()
			for _, e := range elems {
				keys = append(keys, e.Key())
			}
			if strings.Join(keys, ",") != "cookie,user,counter,ratio,ok,profile,sessionkit" ||
				sess.Lookup("counter").Int32() != 2 || sess.Lookup("profile", "tags").Array().Index(1).StringValue() != "b" {
				t.Errorf("after Update %s", got)
			}
		}
	})
}

func TestExpressMongoLifecycle(t *testing.T) {
	forEachMode(t, func(t *testing.T, subdoc bool) {
		ctx := context.Background()
		s, coll := newExpressStore(t, mongostore.ExpressOptions{Subdocument: subdoc, TTL: time.Hour})
		now := time.Now()
		d := sessionkit.Delta{Set: map[string][]byte{"a": []byte("1")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.Update(ctx, "none", d); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Update missing: %v", err)
		}
		if n, _ := coll.CountDocuments(ctx, bson.D{}); n != 0 {
			t.Fatal("Update created a document")
		}
		if err := s.Touch(ctx, "none", now, now); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Touch missing: %v", err)
		}
		rec := &sessionkit.Record{ID: "life", CreatedAt: now, LastSeen: now, AbsoluteExpiry: now.Add(24 * time.Hour)}
		if err := s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		// Expired documents are not returned, and Create replaces them.
		past := now.Add(-time.Minute)
		if _, err := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "life"}}, bson.D{{Key: "$set", Value: bson.D{{Key: "expires", Value: past}}}}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Load(ctx, "life"); got != nil || err != nil {
			t.Fatalf("Load expired: %v %v", got, err)
		}
		if err := s.Update(ctx, "life", d); !errors.Is(err, sessionkit.ErrNotFound) {
			t.Fatalf("Update expired: %v", err)
		}
		if err := s.Create(ctx, rec); err != nil {
			t.Fatalf("Create over an expired document: %v", err)
		}
		before, _ := sessionJSON(t, coll, "life")
		if err := s.Touch(ctx, "life", now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		after, raw := sessionJSON(t, coll, "life")
		if before != after {
			t.Error("Touch rewrote the session")
		}
		if exp := raw.Lookup("expires").Time(); exp.Before(now.Add(59 * time.Minute)) {
			t.Errorf("expires after Touch = %v, want now+TTL", exp)
		}
		if err := s.Delete(ctx, "life"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "life"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Load(ctx, "life"); got != nil || err != nil {
			t.Fatalf("Load deleted: %v %v", got, err)
		}
	})
}

func TestExpressMongoConcurrentUpdates(t *testing.T) {
	forEachMode(t, func(t *testing.T, subdoc bool) {
		ctx := context.Background()
		opts := mongostore.ExpressOptions{Subdocument: subdoc, MaxRetries: 1000}
		// One store: FerretDB v1 applies an update without isolation, so
		// across processes only MongoDB makes the compare and swap atomic;
		// within a store, its per-session locks do.
		s, _ := newExpressStore(t, opts)
		now := time.Now()
		if err := s.Create(ctx, &sessionkit.Record{ID: "c", CreatedAt: now, LastSeen: now, AbsoluteExpiry: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := sessionkit.Delta{Set: map[string][]byte{fmt.Sprintf("k%d", i): []byte(fmt.Sprint(i))}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
				errs <- s.Update(ctx, "c", d)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		rec, err := s.Load(ctx, "c")
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if string(rec.Values[fmt.Sprintf("k%d", i)]) != fmt.Sprint(i) {
				t.Errorf("k%d lost", i)
			}
		}
	})
}

func TestExpressMongoUnavailable(t *testing.T) {
	ctx := context.Background()
	srv := ferretdbtest.Start(t)
	c, err := mongo.Connect(options.Client().ApplyURI(srv.URI()).SetServerSelectionTimeout(500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	s, err := mongostore.NewExpress(ctx, c.Database("x"), mongostore.ExpressOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	now := time.Now()
	if _, err := s.Load(ctx, "x"); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Load: %v", err)
	}
	if err := s.Create(ctx, &sessionkit.Record{ID: "x", CreatedAt: now, LastSeen: now}); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Create: %v", err)
	}
	if err := s.Delete(ctx, "x"); !errors.Is(err, sessionkit.ErrUnavailable) {
		t.Errorf("Delete: %v", err)
	}
}
