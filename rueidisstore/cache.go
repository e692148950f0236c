package rueidisstore

import (
	"context"
	"strconv"
	"sync/atomic"

	"github.com/redis/rueidis"
)

// hgetall reads the session hash key: from rueidis's client-side cache
// when Options.CacheTTL is set, from Redis otherwise.
//
// A cached copy is dropped when Redis sends the invalidation of key to the
// connection that read it, which Redis does while it runs any command that
// changes the key, from any client; when that connection closes for any
// reason, rueidis drops every copy it holds; and after CacheTTL. A key's
// expiry in Redis invalidates it too, and Load checks the session's own
// expiry, so rueidis need not read the key's TTL with every miss: the
// command is marked ToStaticTTL, which sends it alone (with the opt-in
// CLIENT CACHING) rather than in a MULTI with PTTL. Only Load reads
// through the cache: the user index, iteration and the scripts always read
// Redis itself.
func (s *Store) hgetall(ctx context.Context, key string) rueidis.RedisResult {
	if s.cacheTTL > 0 {
		return s.client.DoCache(ctx, s.client.B().Hgetall().Key(key).Cache().ToStaticTTL(), s.cacheTTL)
	}
	return s.client.Do(ctx, s.client.B().Hgetall().Key(key).Build())
}

// barriers numbers the barriers of the process, so that no two are the
// same command.
var barriers atomic.Uint64

// settle returns once this process's cache holds no copy of the session
// key older than a write that has just returned, so that the instance
// that writes a session never serves its own stale copy.
//
// Redis sends the invalidation of key to the connection that cached it
// while it runs the write, or, when that is the writing connection, right
// after the write's reply (since Redis 7.0), so the write may return
// before rueidis has read the invalidation. The cache of key lives on one
// connection, the one DoCache picks for key's slot; settle sends a
// command on that connection and waits for its reply, which Redis sends
// after the invalidation. The command must miss the cache to be sent, and
// must not join another barrier's request already in flight, which may
// have been sent before the write: so each barrier asks a question of its
// own (HEXISTS of a field no session has). Its cached answer is dropped
// with key's next invalidation.
//
// Errors are ignored: the write has happened, and a barrier that fails
// on a broken connection leaves no cache behind it (rueidis drops a
// connection's cache when the connection closes). Only a barrier cut
// short by ctx leaves the usual invalidation window open.
func (s *Store) settle(ctx context.Context, key string) {
	if s.cacheTTL <= 0 {
		return
	}
	field := "barrier:" + strconv.FormatUint(barriers.Add(1), 36)
	s.client.DoCache(ctx, s.client.B().Hexists().Key(key).Field(field).Cache().ToStaticTTL(), s.cacheTTL)
}
