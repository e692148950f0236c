package mongotest

import (
	"context"
	"testing"

	"github.com/sessionkit/sessionkit/internal/ferretdbtest"
	"github.com/sessionkit/sessionkit/mongostore"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/remember/remembertest"
)

// TestRememberConformance runs remembertest on FerretDB, each check in a
// database of its own; the second instance has its own client, as another
// process would.
func TestRememberConformance(t *testing.T) {
	srv := ferretdbtest.Start(t)
	dbs := map[remember.Store]string{}
	open := func(t *testing.T, db string) *mongostore.RememberStore {
		s, err := mongostore.New(context.Background(), connect(t, srv).Database(db), mongostore.Options{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		r, err := mongostore.NewRememberStore(context.Background(), s, mongostore.RememberOptions{})
		if err != nil {
			t.Fatalf("NewRememberStore: %v", err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	}
	remembertest.Run(t, remembertest.Options{
		New: func(t *testing.T) remember.Store {
			db := "db" + randomID()[:8]
			r := open(t, db)
			dbs[r] = db
			return r
		},
		Reopen: func(t *testing.T, st remember.Store) remember.Store { return open(t, dbs[st]) },
	})
}
