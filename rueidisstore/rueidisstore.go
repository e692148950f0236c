// Package rueidisstore is a sessionkit.Store backed by Redis, through
// github.com/redis/rueidis, the Redis organisation's client with
// auto-pipelining: concurrent requests share a connection and their
// commands go out in the same writes.
//
// It takes a rueidis.Client, so the same store works with a single node, a
// Redis Cluster and Sentinel, as rueidis.NewClient sets them up. It
// implements sessionkit.Store, sessionkit.UserIndex, sessionkit.Iterator
// and sessionkit.SessionLimiter, and NewExpress returns the store in the
// format of connect-redis and express-session (without the user index or
// the session limit).
//
// The data layout is package redislayout's, the one redisstore (on
// go-redis) uses too: the two stores are interchangeable on the same data,
// so instances of an application that run either share their sessions.
//
// On a Redis Cluster, rueidis re-reads the cluster map by itself whenever a
// command fails on a connection error or a CLUSTERDOWN, TRYAGAIN or
// LOADING reply, and whenever a connection closes, so the store follows a
// failover within about a second of the promotion with rueidis's default
// settings; see the README for the figures.
//
// With Options.CacheTTL, Load is served from rueidis's client-side cache
// (RESP3 CLIENT TRACKING), which Redis invalidates whenever any client
// changes a session; another instance may serve a session for the short
// time the invalidation takes to reach it, and never longer than CacheTTL.
// It is off by default; the README says what the window is and when not to
// turn it on.
//
// The store needs Redis 6.2 or later (rueidis speaks RESP3). Each call is
// bounded by its context's deadline.
package rueidisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/redislayout"
)

// Options configures a Store.
type Options struct {
	// Prefix starts every key the store writes. It defaults to "sk:". It
	// must not contain '{' or '}', which Redis Cluster reads as a hash tag.
	// Use the same prefix as redisstore to share its sessions.
	Prefix string
	// KeepExpired is how long a session's key outlives its ExpiresAt, so
	// that Iterate (and so Manager.Sweep) still finds the expired session
	// and can report its end: zero means sessionkit.DefaultKeepExpired,
	// a negative value none. Load, Update, Touch and ListByUser treat an
	// expired session as gone either way.
	KeepExpired time.Duration
	// CacheTTL, when positive, serves Load from rueidis's server-assisted
	// client-side cache (RESP3 CLIENT TRACKING): a loaded session is kept
	// in the client's memory for at most CacheTTL (and never served past
	// its expiry), and Redis tells every client that holds a copy to
	// drop it as soon as any instance writes, touches or deletes the
	// session. Between a write on one instance and the invalidation's
	// arrival at another, that other instance may still serve the old
	// copy; see "Client-side caching" in the README for how long that
	// window is and when not to turn the cache on. The client must have
	// its cache enabled (rueidis's default); ClientOption.CacheSizeEachConn
	// bounds its memory. Zero, the default, reads every session from
	// Redis.
	CacheTTL time.Duration
}

// Store is a sessionkit.Store backed by Redis. It is safe for concurrent
// use. Create one with New.
type Store struct {
	client   rueidis.Client
	layout   redislayout.Layout
	cacheTTL time.Duration
}

var (
	_ sessionkit.Store          = (*Store)(nil)
	_ sessionkit.UserIndex      = (*Store)(nil)
	_ sessionkit.Iterator       = (*Store)(nil)
	_ sessionkit.SessionLimiter = (*Store)(nil)
	_ sessionkit.Remover        = (*Store)(nil)
)

// New returns a store that keeps sessions in Redis through client. It does
// not send any command. The caller keeps ownership of client and closes it
// when done.
func New(client rueidis.Client, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("rueidisstore: nil client")
	}
	if opts.CacheTTL < 0 {
		return nil, errors.New("rueidisstore: negative Options.CacheTTL")
	}
	layout, err := redislayout.New(opts.Prefix)
	if err != nil {
		return nil, fmt.Errorf("rueidisstore: %w", err)
	}
	layout = layout.WithKeepExpired(opts.KeepExpired)
	return &Store{client: client, layout: layout, cacheTTL: opts.CacheTTL}, nil
}

// The scripts, their sources in package redislayout. rueidis runs them
// with EVALSHA and falls back to EVAL; they are not retried, as they
// write.
var (
	createScript = rueidis.NewLuaScript(redislayout.CreateScript)
	updateScript = rueidis.NewLuaScript(redislayout.UpdateScript)
	touchScript  = rueidis.NewLuaScript(redislayout.TouchScript)
	deleteScript = rueidis.NewLuaScript(redislayout.DeleteScript)
	indexScript  = rueidis.NewLuaScript(redislayout.IndexScript)
	// The scripts that the shared flows of package redislayout run
	// (LinkUser, RememberTokens), by source.
	scripts = map[string]*rueidis.Lua{
		redislayout.IndexScript:          indexScript,
		redislayout.CreateScript:         createScript,
		redislayout.RememberRotateScript: rueidis.NewLuaScript(redislayout.RememberRotateScript),
		redislayout.RememberDeleteScript: rueidis.NewLuaScript(redislayout.RememberDeleteScript),
		redislayout.UnindexScript:        rueidis.NewLuaScript(redislayout.UnindexScript),
		redislayout.LimitScript:          rueidis.NewLuaScript(redislayout.LimitScript),
		redislayout.EvictScript:          rueidis.NewLuaScript(redislayout.EvictScript),
		redislayout.FinishScript:         rueidis.NewLuaScript(redislayout.FinishScript),
		redislayout.LinkScript:           rueidis.NewLuaScript(redislayout.LinkScript),
	}
)

// run runs script on key with the arguments args. After a script that
// writes a session, it waits for the store's own cached copy to go (see
// settle).
func (s *Store) run(ctx context.Context, script *rueidis.Lua, key string, args []string) rueidis.RedisResult {
	res := script.Exec(ctx, s.client, []string{key}, args)
	if script != indexScript {
		s.settle(ctx, key)
	}
	return res
}

// strArgs collects the arguments of a script as rueidis takes them. Byte
// slices (the session's values) are copied: rueidis may write a command
// after a canceled call has returned, and the store keeps no reference to
// the caller's values (rueidis.BinaryString would).
//
// The lists are recycled (newArgs, free): rueidis copies the arguments
// into a command of its own, so a list is free once the script has run.
type strArgs struct{ s []string }

func (a *strArgs) String(s string) { a.s = append(a.s, s) }
func (a *strArgs) Bytes(b []byte)  { a.s = append(a.s, string(b)) }
func (a *strArgs) Small(n int)     { a.s = append(a.s, strconv.Itoa(n)) }

// argsPool holds the free argument lists.
var argsPool = sync.Pool{New: func() any { return new(strArgs) }}

// newArgs returns an empty argument list.
func newArgs() *strArgs { return argsPool.Get().(*strArgs) }

// free empties a and recycles it, unless a delta with many values made it
// too large to keep.
func (a *strArgs) free() {
	if cap(a.s) > 64 {
		return
	}
	clear(a.s)
	a.s = a.s[:0]
	argsPool.Put(a)
}

// Load returns the session with the given ID, or (nil, nil) if there is
// none or it has expired.
func (s *Store) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	fields, err := s.hgetall(ctx, s.layout.SessionKey(id)).AsStrMap()
	if err != nil {
		return nil, wrapErr(ctx, "load", err)
	}
	rec, err := redislayout.DecodeRecord(id, fields)
	if err != nil {
		return nil, fmt.Errorf("rueidisstore: %w", err)
	}
	return redislayout.Live(rec, time.Now()), nil
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
	args := newArgs()
	s.layout.CreateArgs(args, rec)
	n, err := s.run(ctx, createScript, s.layout.SessionKey(rec.ID), args.s).AsInt64()
	args.free()
	if err != nil {
		return wrapErr(ctx, "create", err)
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
	args := newArgs()
	s.layout.UpdateArgs(args, d, time.Now())
	old, err := s.run(ctx, updateScript, s.layout.SessionKey(id), args.s).ToString()
	args.free()
	if rueidis.IsRedisNil(err) {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return wrapErr(ctx, "update", err)
	}
	h, err := redislayout.ParseHeader(old)
	if err != nil {
		return fmt.Errorf("rueidisstore: update: session %s: %w", id, err)
	}
	return s.applyIndex(ctx, id, h.AfterUpdate(d))
}

// Touch sets the last-seen time and expiry of the live session id without
// rewriting its values. It returns sessionkit.ErrNotFound if the session
// is gone or has expired.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	args := newArgs()
	s.layout.TouchArgs(args, lastSeen, expiresAt, time.Now())
	old, err := s.run(ctx, touchScript, s.layout.SessionKey(id), args.s).ToString()
	args.free()
	if rueidis.IsRedisNil(err) {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return wrapErr(ctx, "touch", err)
	}
	h, err := redislayout.ParseHeader(old)
	if err != nil {
		return fmt.Errorf("rueidisstore: touch: session %s: %w", id, err)
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
	uid, err := s.run(ctx, deleteScript, s.layout.SessionKey(id), redislayout.DeleteArgs("")).ToString()
	if rueidis.IsRedisNil(err) {
		return false, nil
	}
	if err != nil {
		return false, wrapErr(ctx, "delete", err)
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
	err := indexScript.Exec(ctx, s.client, s.layout.UserKeys(userID), args).Error()
	if err != nil {
		return wrapErr(ctx, "index", err)
	}
	return nil
}

// unindex removes sessions that were deleted or moved to another user
// from the user's index and limit hash.
func (s *Store) unindex(ctx context.Context, userID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	err := scripts[redislayout.UnindexScript].Exec(ctx, s.client, s.layout.UserKeys(userID), ids).Error()
	if err != nil {
		return wrapErr(ctx, "unindex", err)
	}
	return nil
}

// LinkUser links the live session id to userID while holding the user to
// max live sessions, atomically across every instance that shares the
// Redis data: see sessionkit.SessionLimiter, and package redislayout for
// how the decision is one script on the user's keys.
func (s *Store) LinkUser(ctx context.Context, id, userID string, max int, evict bool, now time.Time) ([]string, error) {
	return s.layout.LinkUser(ctx, linker{s}, "rueidisstore", id, userID, max, evict, now)
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
	cmds := make(rueidis.Commands, len(ids))
	for i, id := range ids {
		cmds[i] = s.client.B().Hgetall().Key(s.layout.SessionKey(id)).Build()
	}
	res := s.client.DoMulti(ctx, cmds...)
	recs := make([]*sessionkit.Record, len(ids))
	for i, r := range res {
		fields, err := r.AsStrMap()
		if err != nil {
			return nil, wrapErr(ctx, "read sessions", err)
		}
		rec, err := redislayout.DecodeRecord(ids[i], fields)
		if err != nil {
			return nil, fmt.Errorf("rueidisstore: %w", err)
		}
		recs[i] = rec
	}
	return recs, nil
}

// Iterate pages through every session with SCAN, the expired ones that
// Options.KeepExpired keeps included, on every master of a
// Cluster, never with KEYS. The cursor is opaque, and the same as
// redisstore's. If the Cluster's topology changes during an iteration,
// sessions on a node that joined may be missed.
func (s *Store) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	cur, err := redislayout.ParseCursor(cursor)
	if err != nil {
		return nil, "", fmt.Errorf("rueidisstore: %w", err)
	}
	nodes, err := s.nodes(ctx)
	if err != nil {
		return nil, "", err
	}
	return s.layout.Iterate(ctx, cur, limit, nodes, s.records)
}

// nodes returns the nodes that hold sessions: on a Cluster, the masters
// that CLUSTER SLOTS names; otherwise the client's one master.
func (s *Store) nodes(ctx context.Context) ([]redislayout.Node, error) {
	if s.client.Mode() != rueidis.ClientModeCluster {
		return []redislayout.Node{s.scanNode("", s.client)}, nil
	}
	slots, err := s.client.Do(ctx, s.client.B().ClusterSlots().Build()).ToArray()
	if err != nil {
		return nil, wrapErr(ctx, "iterate", err)
	}
	clients := s.client.Nodes()
	var nodes []redislayout.Node
	for _, r := range slots {
		// Each entry: start slot, end slot, master [host, port, ...],
		// replicas.
		entry, err := r.ToArray()
		if err != nil || len(entry) < 3 {
			return nil, fmt.Errorf("rueidisstore: iterate: unexpected CLUSTER SLOTS reply")
		}
		master, err := entry[2].ToArray()
		if err != nil || len(master) < 2 {
			return nil, fmt.Errorf("rueidisstore: iterate: unexpected CLUSTER SLOTS reply")
		}
		host, err1 := master[0].ToString()
		port, err2 := master[1].AsInt64()
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("rueidisstore: iterate: unexpected CLUSTER SLOTS reply")
		}
		addr := fmt.Sprintf("%s:%d", host, port)
		if slices.ContainsFunc(nodes, func(n redislayout.Node) bool { return n.Addr == addr }) {
			continue
		}
		c, ok := clients[addr]
		if !ok {
			return nil, fmt.Errorf("rueidisstore: iterate: %w: master %s is not among the client's nodes yet", sessionkit.ErrUnavailable, addr)
		}
		nodes = append(nodes, s.scanNode(addr, c))
	}
	return nodes, nil
}

// scanNode returns the node addr that c talks to.
func (s *Store) scanNode(addr string, c rueidis.Client) redislayout.Node {
	return redislayout.Node{Addr: addr, Scan: func(ctx context.Context, cursor uint64, match string, count int64) ([]string, uint64, error) {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(match).Count(count).Type("hash").Build()).AsScanEntry()
		if err != nil {
			return nil, 0, wrapErr(ctx, "iterate", err)
		}
		return e.Elements, e.Cursor, nil
	}}
}

// wrapErr adds context to err and classifies it, as
// redislayout.WrapError does.
func wrapErr(ctx context.Context, op string, err error) error {
	return redislayout.WrapError(ctx, "rueidisstore", op, err, unavailable)
}

// unavailable reports whether err means that the server could not be
// reached or is not ready: any error but a Redis error reply, except for
// the replies of redislayout.UnavailableReply. The caller's cancellation
// is not an outage either (wrapErr checks the caller's context first, so
// a context error seen here is not the caller's).
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	if rerr, ok := rueidis.IsRedisErr(err); ok {
		return redislayout.UnavailableReply(rerr.Error())
	}
	return true
}
