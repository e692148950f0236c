// Package redisstore is a sessionkit.Store backed by Redis, through
// github.com/redis/go-redis/v9.
//
// It takes a redis.UniversalClient, so the same store works with a single
// node (redis.NewClient), a Redis Cluster (redis.NewClusterClient) and
// Sentinel (redis.NewFailoverClient), or whatever redis.NewUniversalClient
// returns. It implements sessionkit.Store, sessionkit.UserIndex,
// sessionkit.Iterator and sessionkit.SessionLimiter.
//
// Each session is a hash whose key expires at the session's ExpiresAt, and
// each user with sessions has a sorted set of their session IDs and a hash
// that counts them against a session limit. Every script touches either one
// session key or the two keys of one user, which share a hash slot, so the
// store works on a Redis Cluster without CROSSSLOT errors. The layout (keys, scripts, encoding) is package
// redislayout's, shared with rueidisstore, so the two stores are
// interchangeable on the same data. See the README for the key layout and
// the guarantees.
//
// On a Redis Cluster, a call that fails because a node is unreachable or
// the cluster is down makes the *redis.ClusterClient reload its map of the
// cluster, at most once per 250 ms, so that the store follows a failover as
// soon as the replica is promoted rather than at go-redis's next periodic
// reload (every minute by default).
//
// With Options.AutoPipeline, the commands of concurrent requests share
// pipelines (go-redis's automatic pipelining), which at high concurrency
// costs far fewer system calls per request; see the README.
//
// The store needs Redis 6.2 or later. For context deadlines to bound each
// call, create the client with ContextTimeoutEnabled set; otherwise the
// client's own read and write timeouts apply.
package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/redislayout"
)

// Options configures a Store.
type Options struct {
	// Prefix starts every key the store writes. It defaults to "sk:". It
	// must not contain '{' or '}', which Redis Cluster reads as a hash tag.
	Prefix string
	// KeepExpired is how long a session's key outlives its ExpiresAt, so
	// that Iterate (and so Manager.Sweep) still finds the expired session
	// and can report its end: zero means sessionkit.DefaultKeepExpired,
	// a negative value none. Load, Update, Touch and ListByUser treat an
	// expired session as gone either way.
	KeepExpired time.Duration
	// AutoPipeline sends the session commands of concurrent requests
	// (Load, Create, Update, Touch, Remove and the index scripts) to Redis
	// in shared pipelines, through go-redis's automatic pipelining
	// (AsyncAutoPipeline), instead of one round trip each, whenever
	// AutoPipelineFrom of the store's calls are in flight; with fewer, a
	// call goes straight to the client. Under concurrent load it spends far
	// fewer system calls per request. Each call still ends with its
	// context. It needs a *redis.Client (single node or Sentinel) or a
	// *redis.ClusterClient; New refuses any other client. The
	// autopipeliner is the client's own (its AutoPipelineOptions, or
	// go-redis's defaults), shared with the rest of the program and closed
	// with the client. go-redis marks automatic pipelining experimental.
	AutoPipeline bool
	// AutoPipelineFrom is how many of the store's calls must be in flight,
	// the new one included, for it to go through the autopipeliner: zero
	// means DefaultAutoPipelineFrom, 1 sends every call through it.
	AutoPipelineFrom int
}

// Store is a sessionkit.Store backed by Redis. It is safe for concurrent
// use. Create one with New.
type Store struct {
	*reloader
	client redis.UniversalClient
	// scripter runs the scripts: client, or auto.
	scripter redis.Scripter
	auto     *pipeliner // with Options.AutoPipeline; nil without
	layout   redislayout.Layout
}

var (
	_ sessionkit.Store          = (*Store)(nil)
	_ sessionkit.UserIndex      = (*Store)(nil)
	_ sessionkit.Iterator       = (*Store)(nil)
	_ sessionkit.SessionLimiter = (*Store)(nil)
	_ sessionkit.Remover        = (*Store)(nil)
)

// New returns a store that keeps sessions in Redis through client. It does
// not contact the server; the first call that needs it does. The caller
// keeps ownership of client and closes it when done.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	layout, err := redislayout.New(opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	layout = layout.WithKeepExpired(opts.KeepExpired)
	st := &Store{reloader: newReloader(client), client: client, scripter: client, layout: layout}
	if opts.AutoPipelineFrom < 0 {
		return nil, fmt.Errorf("redisstore: negative AutoPipelineFrom %d", opts.AutoPipelineFrom)
	}
	if opts.AutoPipeline {
		p, err := newPipeliner(client, cmp.Or(opts.AutoPipelineFrom, DefaultAutoPipelineFrom))
		if err != nil {
			return nil, err
		}
		st.auto, st.scripter = &p, p
	}
	return st, nil
}

// The scripts, their sources in package redislayout. go-redis runs them
// with EVALSHA and falls back to EVAL.
var (
	createScript = redis.NewScript(redislayout.CreateScript)
	updateScript = redis.NewScript(redislayout.UpdateScript)
	touchScript  = redis.NewScript(redislayout.TouchScript)
	deleteScript = redis.NewScript(redislayout.DeleteScript)
	indexScript  = redis.NewScript(redislayout.IndexScript)
	// The scripts that the shared flows of package redislayout run
	// (LinkUser, RememberTokens), by source.
	scripts = map[string]*redis.Script{
		redislayout.IndexScript:          indexScript,
		redislayout.CreateScript:         createScript,
		redislayout.RememberRotateScript: redis.NewScript(redislayout.RememberRotateScript),
		redislayout.RememberDeleteScript: redis.NewScript(redislayout.RememberDeleteScript),
		redislayout.UnindexScript:        redis.NewScript(redislayout.UnindexScript),
		redislayout.LimitScript:          redis.NewScript(redislayout.LimitScript),
		redislayout.EvictScript:          redis.NewScript(redislayout.EvictScript),
		redislayout.FinishScript:         redis.NewScript(redislayout.FinishScript),
		redislayout.LinkScript:           redis.NewScript(redislayout.LinkScript),
	}
)

// run runs script on key with the arguments a.
func (s *Store) run(ctx context.Context, script *redis.Script, key string, a []string) *redis.Cmd {
	return s.runKeys(ctx, script, []string{key}, a)
}

// runKeys runs script on keys, all in one hash slot, with the arguments a.
func (s *Store) runKeys(ctx context.Context, script *redis.Script, keys []string, a []string) *redis.Cmd {
	args := make([]any, len(a))
	for i, v := range a {
		args[i] = v
	}
	return script.Run(ctx, s.scripter, keys, args...)
}

// goArgs collects the arguments of a script for go-redis, which takes
// them as []any. A string goes in as a pointer into strs (go-redis writes
// a *string as the string it points to), so that the arguments share one
// allocation rather than one each; strs only grows, and a pointer into an
// array it outgrew still reads the same string. Byte slices and small
// numbers go in as they are.
type goArgs struct {
	list []any
	strs []string
}

// newGoArgs returns a goArgs with room for n arguments.
func newGoArgs(n int) *goArgs {
	return &goArgs{list: make([]any, 0, n), strs: make([]string, 0, n)}
}

func (a *goArgs) String(s string) {
	if s == "" {
		a.list = append(a.list, "")
		return
	}
	a.strs = append(a.strs, s)
	a.list = append(a.list, &a.strs[len(a.strs)-1])
}

func (a *goArgs) Bytes(b []byte) { a.list = append(a.list, b) }
func (a *goArgs) Small(n int)    { a.list = append(a.list, n) }

// Load returns the session with the given ID, or (nil, nil) if there is
// none or it has expired.
func (s *Store) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	fields, err := s.hgetAll(ctx, s.layout.SessionKey(id))
	if err != nil {
		return nil, s.wrapErr(ctx, "load", err)
	}
	rec, err := redislayout.DecodeRecord(id, fields)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %w", err)
	}
	return redislayout.Live(rec, time.Now()), nil
}

// hgetAll returns the fields of the hash at key.
func (s *Store) hgetAll(ctx context.Context, key string) (map[string]string, error) {
	if s.auto == nil {
		return s.client.HGetAll(ctx, key).Result()
	}
	cmd := redis.NewMapStringStringCmd(ctx, "hgetall", key)
	if err := s.auto.process(ctx, cmd); err != nil {
		return nil, err
	}
	return cmd.Result()
}

// Create stores a new session. It returns sessionkit.ErrExists if a
// session, live or expired but kept (Options.KeepExpired), already has
// rec.ID. The key expires KeepExpired after rec.ExpiresAt.
func (s *Store) Create(ctx context.Context, rec *sessionkit.Record) error {
	// Index before and after: if the script fails, or this process stops
	// in between, the index holds an entry too many, which ListByUser and
	// DeleteByUser check and drop, never a session too few; and if a
	// concurrent ListByUser drops the entry before the session exists, the
	// second call puts it back.
	score := redislayout.IndexScore(rec.ExpiresAt, rec.AbsoluteExpiry)
	if rec.UserID != "" {
		if err := s.index(ctx, rec.UserID, redislayout.IndexArgs(time.Now(), score, rec.ID)); err != nil {
			return err
		}
	}
	args := newGoArgs(7 + 2*len(rec.Values))
	s.layout.CreateArgs(args, rec)
	n, err := createScript.Run(ctx, s.scripter, []string{s.layout.SessionKey(rec.ID)}, args.list...).Int()
	if err != nil {
		return s.wrapErr(ctx, "create", err)
	}
	if n == 0 {
		return sessionkit.ErrExists
	}
	if rec.UserID != "" {
		return s.index(ctx, rec.UserID, redislayout.CountArgs(time.Now(), score, rec.ID, rec.CreatedAt))
	}
	return nil
}

// Update applies d to the live session id in one script, so that
// concurrent updates of different keys both survive. It returns
// sessionkit.ErrNotFound if the session is gone and never recreates it.
func (s *Store) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	// A new user is indexed before and after, as in Create.
	if d.UserID != nil && *d.UserID != "" {
		err := s.index(ctx, *d.UserID, redislayout.IndexArgs(time.Now(), redislayout.IndexScore(d.ExpiresAt, d.AbsoluteExpiry), id))
		if err != nil {
			return err
		}
	}
	args := newGoArgs(8 + len(d.Del) + 2*len(d.Set))
	s.layout.UpdateArgs(args, d, time.Now())
	old, err := updateScript.Run(ctx, s.scripter, []string{s.layout.SessionKey(id)}, args.list...).Text()
	if err == redis.Nil {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return s.wrapErr(ctx, "update", err)
	}
	h, err := redislayout.ParseHeader(old)
	if err != nil {
		return fmt.Errorf("redisstore: update: session %s: %w", id, err)
	}
	return s.applyIndex(ctx, id, h.AfterUpdate(d))
}

// Touch sets the last-seen time and expiry of the live session id without
// rewriting its values. It returns sessionkit.ErrNotFound if the session
// is gone or has expired.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	args := newGoArgs(3)
	s.layout.TouchArgs(args, lastSeen, expiresAt, time.Now())
	old, err := touchScript.Run(ctx, s.scripter, []string{s.layout.SessionKey(id)}, args.list...).Text()
	if err == redis.Nil {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return s.wrapErr(ctx, "touch", err)
	}
	h, err := redislayout.ParseHeader(old)
	if err != nil {
		return fmt.Errorf("redisstore: touch: session %s: %w", id, err)
	}
	return s.applyIndex(ctx, id, h.AfterTouch(expiresAt))
}

// Delete deletes the session id, live or expired, and removes it from
// its user's index. Deleting a missing session is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	_, err := s.Remove(ctx, id)
	return err
}

// Remove deletes the session id as Delete does and reports whether this
// call deleted it: of concurrent calls, on any instance, exactly one
// reports true (see sessionkit.Remover).
func (s *Store) Remove(ctx context.Context, id string) (bool, error) {
	uid, err := s.run(ctx, deleteScript, s.layout.SessionKey(id), redislayout.DeleteArgs("")).Text()
	if err == redis.Nil {
		return false, nil
	}
	if err != nil {
		return false, s.wrapErr(ctx, "delete", err)
	}
	if uid != "" {
		return true, s.unindex(ctx, uid, id)
	}
	return true, nil
}

// applyIndex makes the index changes c of session id, after a write.
func (s *Store) applyIndex(ctx context.Context, id string, c redislayout.IndexChange) error {
	if c.Unindex != "" {
		if err := s.unindex(ctx, c.Unindex, id); err != nil {
			return err
		}
	}
	if c.Index != "" {
		return s.index(ctx, c.Index, redislayout.CountArgs(time.Now(), c.Score, id, c.Created))
	}
	return nil
}

// index runs IndexScript on the user's keys with args (IndexArgs or
// CountArgs).
func (s *Store) index(ctx context.Context, userID string, args []string) error {
	err := s.runKeys(ctx, indexScript, s.layout.UserKeys(userID), args).Err()
	if err != nil {
		return s.wrapErr(ctx, "index", err)
	}
	return nil
}

// unindex removes sessions that were deleted or moved to another user
// from the user's index and limit hash.
func (s *Store) unindex(ctx context.Context, userID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.runKeys(ctx, scripts[redislayout.UnindexScript], s.layout.UserKeys(userID), ids).Err()
	if err != nil {
		return s.wrapErr(ctx, "unindex", err)
	}
	return nil
}

// LinkUser links the live session id to userID while holding the user to
// max live sessions, atomically across every instance that shares the
// Redis data: see sessionkit.SessionLimiter, and package redislayout for
// how the decision is one script on the user's keys.
func (s *Store) LinkUser(ctx context.Context, id, userID string, max int, evict bool, now time.Time) ([]string, error) {
	return s.layout.LinkUser(ctx, linker{s}, "redisstore", id, userID, max, evict, now)
}

// ListByUser returns the live sessions of userID, oldest first. It checks
// every entry of the user's index against the session itself and removes
// the entries whose session has expired, been deleted or moved to another
// user.
func (s *Store) ListByUser(ctx context.Context, userID string) ([]sessionkit.SessionInfo, error) {
	return redislayout.ListByUser(ctx, users{s}, userID)
}

// DeleteByUser deletes every session of userID except those in except and
// returns how many it deleted.
func (s *Store) DeleteByUser(ctx context.Context, userID string, except ...string) (int, error) {
	return redislayout.DeleteByUser(ctx, users{s}, userID, except...)
}

// records reads the sessions ids in one pipeline. An entry is nil when its
// session is missing; expired sessions are returned as they are.
func (s *Store) records(ctx context.Context, ids []string) ([]*sessionkit.Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.layout.SessionKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrapErr(ctx, "read sessions", err)
	}
	recs := make([]*sessionkit.Record, len(ids))
	for i, c := range cmds {
		rec, err := redislayout.DecodeRecord(ids[i], c.Val())
		if err != nil {
			return nil, fmt.Errorf("redisstore: %w", err)
		}
		recs[i] = rec
	}
	return recs, nil
}

// Iterate pages through every session with SCAN, the expired ones that
// Options.KeepExpired keeps included, on every master of a
// Cluster (or every shard of a Ring), never with KEYS. The cursor is
// opaque. If the Cluster's topology changes during an iteration, sessions
// on a node that joined may be missed.
func (s *Store) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	cur, err := redislayout.ParseCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("redisstore: %w", err)
	}
	nodes, err := s.nodes(ctx)
	if err != nil {
		return nil, "", err
	}
	return s.layout.Iterate(ctx, cur, limit, nodes, s.records)
}

// nodes returns the nodes that hold sessions.
func (s *Store) nodes(ctx context.Context) ([]redislayout.Node, error) {
	var (
		mu    sync.Mutex
		nodes []redislayout.Node
	)
	add := func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		nodes = append(nodes, s.scanNode(c.Options().Addr, c))
		return nil
	}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, add)
	case *redis.Ring:
		err = c.ForEachShard(ctx, add)
	default:
		return []redislayout.Node{s.scanNode("", s.client)}, nil
	}
	if err != nil {
		return nil, s.wrapErr(ctx, "iterate", err)
	}
	return nodes, nil
}

// scanNode returns the node addr that c talks to.
func (s *Store) scanNode(addr string, c redis.Cmdable) redislayout.Node {
	return redislayout.Node{Addr: addr, Scan: func(ctx context.Context, cursor uint64, match string, count int64) ([]string, uint64, error) {
		keys, next, err := c.ScanType(ctx, cursor, match, count, "hash").Result()
		if err != nil {
			return nil, 0, s.wrapErr(ctx, "iterate", err)
		}
		return keys, next, nil
	}}
}

// wrapErr adds context to err and classifies it, as
// redislayout.WrapError does.
func wrapErr(ctx context.Context, op string, err error) error {
	return redislayout.WrapError(ctx, "redisstore", op, err, unavailable)
}

// unavailable reports whether err means that the server could not be
// reached or is not ready. A Redis error reply means the server answered,
// except for the replies of redislayout.UnavailableReply. The caller's
// cancellation is not an outage either (wrapErr checks the caller's
// context first, so a context error seen here is not the caller's).
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true
	}
	return redislayout.UnavailableReply(rerr.Error())
}
