package rueidistest

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// TestClusterFailover runs the failover test of package redissuite on
// the store's two formats, each with a rueidis client set up as the README
// shows, with rueidis's default settings.
func TestClusterFailover(t *testing.T) {
	redissuite.RunFailover(t, func(t *testing.T, masters []string) []redissuite.Format {
		// Each format has a client of its own, so that neither recovers
		// thanks to the other.
		client := func() rueidis.Client {
			c := newRueidis(t, rueidis.ClientOption{InitAddress: masters})
			if c.Mode() != rueidis.ClientModeCluster {
				t.Fatalf("rueidis.NewClient returned a client in mode %s", c.Mode())
			}
			return c
		}
		express, err := rueidisstore.NewExpress(client(), rueidisstore.ExpressOptions{Prefix: "fox:"})
		if err != nil {
			t.Fatal(err)
		}
		return []redissuite.Format{
			{Name: "Native", Store: newStore(t, client(), "fo:"), Key: func(id string) string { return "fo:s:{" + id + "}" }},
			{Name: "Express", Express: true, Store: express, Key: func(id string) string { return "fox:" + id }},
		}
	})
}

// TestUpdateOnReplica checks that writes sent to a node that has become a
// replica, as a demoted master is after a failover, fail as unavailable
// (503): the native scripts' refused writes, and the Express update, not
// with the EXECABORT that Redis answers to the transaction whose write it
// refused to queue (500).
func TestUpdateOnReplica(t *testing.T) {
	ctx := t.Context()
	master := testserver.StartRedis(t)
	_, port, _ := net.SplitHostPort(master.Addr)
	replica := testserver.StartRedis(t, "--replicaof", "127.0.0.1", port)
	type stores struct {
		native  *rueidisstore.Store
		express *rueidisstore.ExpressStore
	}
	by := make(map[string]stores)
	for _, addr := range []string{master.Addr, replica.Addr} {
		c := newRueidis(t, rueidis.ClientOption{InitAddress: []string{addr}})
		ex, err := rueidisstore.NewExpress(c, rueidisstore.ExpressOptions{})
		if err != nil {
			t.Fatal(err)
		}
		by[addr] = stores{newStore(t, c, "r:"), ex}
	}
	now := time.Now()
	rec := newRecord("u")
	if err := by[master.Addr].express.Create(ctx, redissuite.ExpressRecord(rec.ID, now)); err != nil {
		t.Fatal(err)
	}
	if err := by[master.Addr].native.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if n, _ := testserver.RedisDo(replica.Addr, "EXISTS", "sess:"+rec.ID); n == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the session did not reach the replica")
		}
	}
	d := sessionkit.Delta{Set: map[string][]byte{"k": []byte("1")}, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	for name, err := range map[string]error{
		"Express.Update": by[replica.Addr].express.Update(ctx, rec.ID, d),
		"Update":         by[replica.Addr].native.Update(ctx, rec.ID, d),
		"Touch":          by[replica.Addr].native.Touch(ctx, rec.ID, now, now.Add(time.Hour)),
	} {
		if !errors.Is(err, sessionkit.ErrUnavailable) || !strings.Contains(err.Error(), "READONLY") {
			t.Errorf("%s on a replica: %v, want ErrUnavailable for READONLY", name, err)
		}
	}
}
