package rueidistest

import (
	"testing"

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

// TestExpressCluster runs the Cluster check of the Express format: the
// store's commands (WATCH, MULTI, pipelines, the dedicated connection)
// stay on one slot.
func TestExpressCluster(t *testing.T) {
	redissuite.RunExpressCluster(t, func(t *testing.T, masters []string) sessionkit.Store {
		st, err := rueidisstore.NewExpress(newRueidis(t, rueidis.ClientOption{InitAddress: masters}), rueidisstore.ExpressOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
