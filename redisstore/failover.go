package redisstore

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// reloadInterval is the least time between two reloads of the cluster map
// that failed calls ask for.
const reloadInterval = 250 * time.Millisecond

// reloader makes a Redis Cluster client follow a failover in about a
// second instead of a minute.
//
// go-redis re-reads the cluster map (CLUSTER SLOTS) only after a MOVED or
// ASK reply, after a READONLY reply, or every
// ClusterOptions.ClusterStateReloadInterval (60 s by default). When a
// master dies, nothing answers MOVED: the client keeps dialling the dead
// master for the slots it owned, long after a replica has taken them over.
// So every call that fails as unavailable asks the client to reload its
// map, at most once per reloadInterval; once the replica is promoted, the
// next reload routes its slots to it. The reload runs in the background
// (ClusterClient.ReloadState), so the failing call does not wait for it.
//
// The zero value does nothing; it is what clients other than a
// *redis.ClusterClient get, since they follow failovers by themselves
// (Sentinel) or have no replicas to fail over to (Ring).
type reloader struct {
	cluster *redis.ClusterClient
	next    atomic.Int64 // Unix nanoseconds before which no reload starts
}

// newReloader returns the reloader of client.
func newReloader(client redis.UniversalClient) *reloader {
	cluster, _ := client.(*redis.ClusterClient)
	return &reloader{cluster: cluster}
}

// wrapErr wraps err as the package's wrapErr does, after asking for a
// reload of the cluster map if err means that a node could not serve.
func (r *reloader) wrapErr(ctx context.Context, op string, err error) error {
	r.failed(err)
	return wrapErr(ctx, op, err)
}

// failed asks the cluster client to reload its map when err means that a
// node could not be reached or could not serve, unless a reload was asked
// for less than reloadInterval ago. A canceled context says nothing about
// the server and asks for nothing.
func (r *reloader) failed(err error) {
	if r.cluster == nil || err == nil || errors.Is(err, context.Canceled) || !unavailable(err) {
		return
	}
	now := time.Now().UnixNano()
	next := r.next.Load()
	if now < next || !r.next.CompareAndSwap(next, now+int64(reloadInterval)) {
		return
	}
	r.cluster.ReloadState(context.Background())
}
