package rueidistest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// TestExpress runs the Express-format checks shared with redisstore.
func TestExpress(t *testing.T) {
	redissuite.RunExpress(t, func(t *testing.T, addr string, opts redissuite.ExpressOptions) sessionkit.Store {
		st, err := rueidisstore.NewExpress(newRueidis(t, rueidis.ClientOption{InitAddress: []string{addr}}), rueidisstore.ExpressOptions(opts))
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
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
		if err := st.Create(ctx, redissuite.ExpressRecord(id, now)); err != nil {
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
