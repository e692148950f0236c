// Package redisstore is a sessionkit.Store backed by Redis, through
// github.com/redis/go-redis/v9.
//
// It takes a redis.UniversalClient, so the same store works with a single
// node (redis.NewClient), a Redis Cluster (redis.NewClusterClient) and
// Sentinel (redis.NewFailoverClient), or whatever redis.NewUniversalClient
// returns. It implements sessionkit.Store, sessionkit.UserIndex and
// sessionkit.Iterator.
//
// Each session is a hash whose key expires at the session's ExpiresAt, and
// each user with sessions has a sorted set of their session IDs. Every
// script touches a single key, so the store works on a Redis Cluster without
// CROSSSLOT errors. See the README for the key layout and the guarantees.
//
// On a Redis Cluster, a call that fails because a node is unreachable or
// the cluster is down makes the *redis.ClusterClient reload its map of the
// cluster, at most once per 250 ms, so that the store follows a failover as
// soon as the replica is promoted rather than at go-redis's next periodic
// reload (every minute by default).
//
// The store needs Redis 6.2 or later. For context deadlines to bound each
// call, create the client with ContextTimeoutEnabled set; otherwise the
// client's own read and write timeouts apply.
package redisstore

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
)

// Options configures a Store.
type Options struct {
	// Prefix starts every key the store writes. It defaults to "sk:". It
	// must not contain '{' or '}', which Redis Cluster reads as a hash tag.
	Prefix string
}

// Store is a sessionkit.Store backed by Redis. It is safe for concurrent
// use. Create one with New.
type Store struct {
	*reloader
	client redis.UniversalClient
	prefix string
}

var (
	_ sessionkit.Store     = (*Store)(nil)
	_ sessionkit.UserIndex = (*Store)(nil)
	_ sessionkit.Iterator  = (*Store)(nil)
)

// New returns a store that keeps sessions in Redis through client. It does
// not contact the server; the first call that needs it does. The caller
// keeps ownership of client and closes it when done.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	if opts.Prefix == "" {
		opts.Prefix = "sk:"
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("redisstore: prefix %q contains a brace", opts.Prefix)
	}
	return &Store{reloader: newReloader(client), client: client, prefix: opts.Prefix}, nil
}

// Hash fields of a session: its times, which every write replaces; its
// header, which the scripts read; its metadata, which never changes; and
// each value, under valuePrefix+key. Few fields make a Load cheap, and
// short ones let Redis keep the hash in its compact encoding (see the
// README).
const (
	fieldTimes  = "t"
	fieldHeader = "h"
	fieldMeta   = "m"
	valuePrefix = "v:"
)

// sessionKey returns the key of the hash that holds session id. The ID is
// the hash tag, so a Cluster places each session by its own ID.
func (s *Store) sessionKey(id string) string {
	return s.prefix + "s:{" + id + "}"
}

// userKey returns the key of the sorted set that indexes the sessions of
// userID, scored by their expiry in Unix milliseconds.
func (s *Store) userKey(userID string) string {
	return s.prefix + "u:{" + userID + "}"
}

// idFromKey returns the session ID in a session key, or "" if key is not
// one.
func (s *Store) idFromKey(key string) string {
	rest, ok := strings.CutPrefix(key, s.prefix+"s:{")
	if !ok {
		return ""
	}
	id, ok := strings.CutSuffix(rest, "}")
	if !ok {
		return ""
	}
	return id
}

// The times field is "<exp> <last>" and the header
//
//	<abs> <created> <persist> <uid>
//
// with times in decimal Unix nanoseconds ("0" for the zero time), persist
// "1" or "0" and the user ID to the end. The metadata field holds each key
// and value as a netstring: length, colon, bytes. Errors never quote these
// fields, which hold the user ID, IP address and user agent.
//
// The scripts never parse the times: a session whose key exists has not
// expired, because every write sets the key's expiry to ExpiresAt rounded
// down to the millisecond. They return the header, and take it apart only
// to change the user, the absolute expiry or the remember-me flag. A
// delta's field lists can be long, so HSET and HDEL go in chunks, well
// below Lua's limit on unpack.

// luaChunks defines chunks(cmd, list, from, to), which calls cmd on
// KEYS[1] with list[from..to] in pieces small enough for unpack.
const luaChunks = `
local function chunks(cmd, list, from, to)
  for i = from, to, 1000 do
    redis.call(cmd, KEYS[1], unpack(list, i, math.min(i + 999, to)))
  end
end
`

// createScript inserts a session unless a key, live session or not, is
// under KEYS[1].
// ARGV: expiry (ms), then field/value pairs.
var createScript = redis.NewScript(luaChunks + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
chunks('HSET', ARGV, 2, #ARGV)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`)

// updateScript applies a delta to a session and returns its header before
// the change, or nil if there is no session.
// ARGV: expiry (ms), times field, clear ("1" or "0"), new absolute expiry
// or "", new persist or "", "=" and the new user ID or "", n, n fields to
// delete, then field/value pairs to set.
var updateScript = redis.NewScript(luaChunks + `
local h = redis.call('HGET', KEYS[1], 'h')
if not h then
  return false
end
if ARGV[4] ~= '' or ARGV[5] ~= '' or ARGV[6] ~= '' then
  local abs, created, persist, uid = string.match(h, '^(%-?%d+) (%-?%d+) ([01]) (.*)$')
  if not abs then
    return redis.error_reply('malformed session header')
  end
  if ARGV[4] ~= '' then abs = ARGV[4] end
  if ARGV[5] ~= '' then persist = ARGV[5] end
  if ARGV[6] ~= '' then uid = string.sub(ARGV[6], 2) end
  redis.call('HSET', KEYS[1], 'h', abs .. ' ' .. created .. ' ' .. persist .. ' ' .. uid)
end
if ARGV[3] == '1' then
  local del = {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'v:' then
      del[#del + 1] = f
    end
  end
  chunks('HDEL', del, 1, #del)
end
local n = tonumber(ARGV[7])
local j = math.min(7 + n + 1000, #ARGV)
redis.call('HSET', KEYS[1], 't', ARGV[2], unpack(ARGV, 8 + n, j))
chunks('HSET', ARGV, j + 1, #ARGV)
chunks('HDEL', ARGV, 8, 7 + n)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return h
`)

// touchScript sets the times of a session and returns its header, or nil
// if there is no session.
// ARGV: expiry (ms), times field.
var touchScript = redis.NewScript(`
local h = redis.call('HGET', KEYS[1], 'h')
if not h then
  return false
end
redis.call('HSET', KEYS[1], 't', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return h
`)

// deleteScript deletes a session and returns its user ID, or nil if there
// was no session. With ARGV[1] set, it deletes the session only if it
// belongs to that user. A key without a header is deleted only without
// ARGV[1], and reported as a session without a user.
var deleteScript = redis.NewScript(`
local h = redis.call('HGET', KEYS[1], 'h')
if not h then
  if ARGV[1] == '' and redis.call('DEL', KEYS[1]) == 1 then
    return ''
  end
  return false
end
local uid = string.match(h, '^%-?%d+ %-?%d+ [01] (.*)$') or ''
if ARGV[1] ~= '' and uid ~= ARGV[1] then
  return false
end
redis.call('DEL', KEYS[1])
return uid
`)

// indexScript adds session ARGV[3] with expiry ARGV[2] (ms) to the user
// index KEYS[1], never lowering a score, removes the entries that expired
// before ARGV[1] (ms) and makes the set expire with its last session.
var indexScript = redis.NewScript(`
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[3])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIREAT', KEYS[1], last[2])
end
return 1
`)

// Load returns the session with the given ID, or (nil, nil) if there is
// none or it has expired.
func (s *Store) Load(ctx context.Context, id string) (*sessionkit.Record, error) {
	fields, err := s.client.HGetAll(ctx, s.sessionKey(id)).Result()
	if err != nil {
		return nil, s.wrapErr(ctx, "load", err)
	}
	rec, err := decodeRecord(id, fields)
	if err != nil || rec == nil {
		return nil, err
	}
	if !rec.ExpiresAt.After(time.Now()) {
		return nil, nil
	}
	return rec, nil
}

// Create stores a new session. It returns sessionkit.ErrExists if a live
// session already has rec.ID. The key expires at rec.ExpiresAt.
func (s *Store) Create(ctx context.Context, rec *sessionkit.Record) error {
	args := make([]any, 0, 7+2*len(rec.Values))
	args = append(args, unixMilli(rec.ExpiresAt),
		fieldTimes, encodeTimes(rec.ExpiresAt, rec.LastSeen),
		fieldHeader, encodeHeader(rec))
	if len(rec.Meta) > 0 {
		args = append(args, fieldMeta, encodeMeta(rec.Meta))
	}
	for k, v := range rec.Values {
		args = append(args, valuePrefix+k, v)
	}
	// Index before and after: if the script fails, or this process stops
	// in between, the index holds an entry too many, which ListByUser and
	// DeleteByUser check and drop, never a session too few; and if a
	// concurrent ListByUser drops the entry before the session exists, the
	// second call puts it back.
	score := indexScore(rec.ExpiresAt, rec.AbsoluteExpiry)
	if rec.UserID != "" {
		if err := s.index(ctx, rec.UserID, rec.ID, score); err != nil {
			return err
		}
	}
	n, err := createScript.Run(ctx, s.client, []string{s.sessionKey(rec.ID)}, args...).Int()
	if err != nil {
		return s.wrapErr(ctx, "create", err)
	}
	if n == 0 {
		return sessionkit.ErrExists
	}
	if rec.UserID != "" {
		return s.index(ctx, rec.UserID, rec.ID, score)
	}
	return nil
}

// Update applies d to the live session id in one script, so that
// concurrent updates of different keys both survive. It returns
// sessionkit.ErrNotFound if the session is gone and never recreates it.
func (s *Store) Update(ctx context.Context, id string, d sessionkit.Delta) error {
	args := make([]any, 0, 7+len(d.Del)+2*len(d.Set))
	args = append(args, unixMilli(d.ExpiresAt), encodeTimes(d.ExpiresAt, d.LastSeen), encodeBool(d.Clear), "", "", "", len(d.Del))
	if !d.AbsoluteExpiry.IsZero() {
		args[3] = string(appendTime(nil, d.AbsoluteExpiry))
	}
	if d.Persistent != nil {
		args[4] = encodeBool(*d.Persistent)
	}
	if d.UserID != nil {
		args[5] = "=" + *d.UserID
	}
	for _, k := range d.Del {
		args = append(args, valuePrefix+k)
	}
	for k, v := range d.Set {
		args = append(args, valuePrefix+k, v)
	}
	// A new user is indexed before and after, as in Create.
	if d.UserID != nil && *d.UserID != "" {
		err := s.index(ctx, *d.UserID, id, indexScore(d.ExpiresAt, d.AbsoluteExpiry))
		if err != nil {
			return err
		}
	}
	old, err := updateScript.Run(ctx, s.client, []string{s.sessionKey(id)}, args...).Text()
	if err == redis.Nil {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return s.wrapErr(ctx, "update", err)
	}
	var h header
	if !h.parse(old) {
		return fmt.Errorf("redisstore: update: session %s: malformed header", id)
	}
	abs := d.AbsoluteExpiry
	if abs.IsZero() {
		abs = h.absolute
	}
	newUID := h.userID
	if d.UserID != nil {
		newUID = *d.UserID
	}
	if h.userID != "" && h.userID != newUID {
		if err := s.unindex(ctx, h.userID, id); err != nil {
			return err
		}
	}
	// The index entry is scored by the absolute expiry, which a plain
	// update leaves alone, so usually it need not be written.
	if newUID != "" && (newUID != h.userID || !d.AbsoluteExpiry.IsZero() || abs.IsZero() || d.ExpiresAt.After(abs)) {
		return s.index(ctx, newUID, id, indexScore(d.ExpiresAt, abs))
	}
	return nil
}

// Touch sets the last-seen time and expiry of the live session id without
// rewriting its values. It returns sessionkit.ErrNotFound if the session
// is gone.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	old, err := touchScript.Run(ctx, s.client, []string{s.sessionKey(id)},
		unixMilli(expiresAt), encodeTimes(expiresAt, lastSeen)).Text()
	if err == redis.Nil {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return s.wrapErr(ctx, "touch", err)
	}
	var h header
	if !h.parse(old) {
		return fmt.Errorf("redisstore: touch: session %s: malformed header", id)
	}
	// The index entry is scored by the absolute expiry, which a touch
	// cannot pass, so it is written only for sessions without one.
	if h.userID != "" && (h.absolute.IsZero() || expiresAt.After(h.absolute)) {
		return s.index(ctx, h.userID, id, indexScore(expiresAt, h.absolute))
	}
	return nil
}

// Delete deletes the session id and removes it from its user's index.
// Deleting a missing session is not an error.
func (s *Store) Delete(ctx context.Context, id string) error {
	uid, err := deleteScript.Run(ctx, s.client, []string{s.sessionKey(id)}, "").Text()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		return s.wrapErr(ctx, "delete", err)
	}
	if uid != "" {
		return s.unindex(ctx, uid, id)
	}
	return nil
}

// indexScore returns the score of a session in its user's index: the time
// after which it surely has expired. That is its absolute expiry, which
// touches and updates do not move, so that they need not write the index;
// or its expiry when it has no absolute expiry (or, against the rules, an
// expiry past it).
func indexScore(expiresAt, absolute time.Time) time.Time {
	if absolute.IsZero() || expiresAt.After(absolute) {
		return expiresAt
	}
	return absolute
}

// index records in the user's index that session id is dead after score,
// and trims the index of the entries whose score has passed.
func (s *Store) index(ctx context.Context, userID, id string, score time.Time) error {
	err := indexScript.Run(ctx, s.client, []string{s.userKey(userID)},
		time.Now().UnixMilli(), unixMilli(score), id).Err()
	if err != nil {
		return s.wrapErr(ctx, "index", err)
	}
	return nil
}

// unindex removes sessions from the user's index.
func (s *Store) unindex(ctx context.Context, userID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	if err := s.client.ZRem(ctx, s.userKey(userID), members...).Err(); err != nil {
		return s.wrapErr(ctx, "unindex", err)
	}
	return nil
}

// ListByUser returns the live sessions of userID, oldest first. It checks
// every entry of the user's index against the session itself and removes
// the entries whose session has expired, been deleted or moved to another
// user.
func (s *Store) ListByUser(ctx context.Context, userID string) ([]sessionkit.SessionInfo, error) {
	ids, err := s.userSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	recs, err := s.records(ctx, ids)
	if err != nil {
		return nil, err
	}
	var list []sessionkit.SessionInfo
	var stale []string
	for i, rec := range recs {
		if rec == nil || rec.UserID != userID {
			stale = append(stale, ids[i])
			continue
		}
		list = append(list, rec.Info())
	}
	if err := s.dropStale(ctx, userID, stale); err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b sessionkit.SessionInfo) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return list, nil
}

// DeleteByUser deletes every session of userID except those in except and
// returns how many it deleted.
func (s *Store) DeleteByUser(ctx context.Context, userID string, except ...string) (int, error) {
	ids, err := s.userSessions(ctx, userID)
	if err != nil {
		return 0, err
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(except, id) })
	if len(ids) == 0 {
		return 0, nil
	}
	n := 0
	for _, id := range ids {
		// The script deletes the session only if it still belongs to
		// userID: the index may hold a session that moved to another user.
		err := deleteScript.Run(ctx, s.client, []string{s.sessionKey(id)}, userID).Err()
		if err == nil {
			n++
		} else if err != redis.Nil {
			return n, s.wrapErr(ctx, "delete by user", err)
		}
	}
	if err := s.dropStale(ctx, userID, ids); err != nil {
		return n, err
	}
	return n, nil
}

// dropStale removes from the user's index the entries ids, found to have no
// live session of that user, then reads those sessions again and puts back
// the ones that are now live and the user's. A Create or Update that indexes
// the session before writing it may have raced with the first read; its
// second index update runs either before the removal, and then the session
// is already written when this function reads it again, or after, and then
// it restores the entry itself. Either way no live session is left out.
func (s *Store) dropStale(ctx context.Context, userID string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.unindex(ctx, userID, ids...); err != nil {
		return err
	}
	recs, err := s.records(ctx, ids)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec != nil && rec.UserID == userID {
			if err := s.index(ctx, userID, rec.ID, indexScore(rec.ExpiresAt, rec.AbsoluteExpiry)); err != nil {
				return err
			}
		}
	}
	return nil
}

// userSessions trims the user's index and returns the IDs in it.
func (s *Store) userSessions(ctx context.Context, userID string) ([]string, error) {
	key := s.userKey(userID)
	var ids *redis.StringSliceCmd
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRemRangeByScore(ctx, key, "-inf", "("+strconv.FormatInt(time.Now().UnixMilli(), 10))
		ids = p.ZRange(ctx, key, 0, -1)
		return nil
	})
	if err != nil {
		return nil, s.wrapErr(ctx, "list by user", err)
	}
	return ids.Val(), nil
}

// records reads the sessions ids in one pipeline. An entry is nil when its
// session is missing or expired.
func (s *Store) records(ctx context.Context, ids []string) ([]*sessionkit.Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.sessionKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrapErr(ctx, "read sessions", err)
	}
	recs := make([]*sessionkit.Record, len(ids))
	t := time.Now()
	for i, c := range cmds {
		rec, err := decodeRecord(ids[i], c.Val())
		if err != nil {
			return nil, err
		}
		if rec != nil && rec.ExpiresAt.After(t) {
			recs[i] = rec
		}
	}
	return recs, nil
}

// Iterate pages through every live session with SCAN, on every master of a
// Cluster (or every shard of a Ring), never with KEYS. The cursor is
// opaque. If the Cluster's topology changes during an iteration, sessions
// on a node that joined may be missed.
func (s *Store) Iterate(ctx context.Context, cursor string, limit int) ([]sessionkit.SessionInfo, string, error) {
	if limit <= 0 {
		limit = 100
	}
	cur, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	nodes, err := s.nodes(ctx)
	if err != nil {
		return nil, "", err
	}
	// Start at the node in the cursor or, if it has left, at the first one
	// after it in address order.
	start := 0
	if cursor != "" {
		var found bool
		start, found = slices.BinarySearchFunc(nodes, cur.node, func(n scanNode, addr string) int {
			return cmp.Compare(n.addr, addr)
		})
		if !found {
			cur = iterCursor{}
		}
	}
	match := escapeGlob(s.prefix) + "s:{*}"
	for i := start; i < len(nodes); i++ {
		node := nodes[i]
		if i != start {
			cur = iterCursor{}
		}
		for {
			keys, scanNext, err := node.client.ScanType(ctx, cur.scan, match, int64(limit), "hash").Result()
			if err != nil {
				return nil, "", s.wrapErr(ctx, "iterate", err)
			}
			// A SCAN batch can hold more keys than limit. Sort it, skip
			// what an earlier page returned from it and, if it is still
			// too long, return a part and scan the same batch again for
			// the next page.
			slices.Sort(keys)
			var ids []string
			for _, k := range keys {
				if k > cur.after {
					if id := s.idFromKey(k); id != "" {
						ids = append(ids, id)
					}
				}
			}
			var next iterCursor
			done := false
			switch {
			case len(ids) > limit:
				ids = ids[:limit]
				next = iterCursor{node: node.addr, scan: cur.scan, after: s.sessionKey(ids[limit-1])}
			case scanNext != 0:
				next = iterCursor{node: node.addr, scan: scanNext}
			case i+1 < len(nodes):
				next = iterCursor{node: nodes[i+1].addr}
			default:
				done = true
			}
			recs, err := s.records(ctx, ids)
			if err != nil {
				return nil, "", err
			}
			var page []sessionkit.SessionInfo
			for _, rec := range recs {
				if rec != nil {
					page = append(page, rec.Info())
				}
			}
			if done {
				return page, "", nil
			}
			if len(page) > 0 {
				return page, next.String(), nil
			}
			if next.node != node.addr {
				break
			}
			cur = next
		}
	}
	return nil, "", nil
}

// scanNode is a node that Iterate scans.
type scanNode struct {
	addr   string
	client redis.Cmdable
}

// nodes returns the nodes that hold sessions, sorted by address.
func (s *Store) nodes(ctx context.Context) ([]scanNode, error) {
	var (
		mu    sync.Mutex
		nodes []scanNode
	)
	add := func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		nodes = append(nodes, scanNode{addr: c.Options().Addr, client: c})
		return nil
	}
	var err error
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, add)
	case *redis.Ring:
		err = c.ForEachShard(ctx, add)
	default:
		return []scanNode{{client: s.client}}, nil
	}
	if err != nil {
		return nil, s.wrapErr(ctx, "iterate", err)
	}
	slices.SortFunc(nodes, func(a, b scanNode) int { return cmp.Compare(a.addr, b.addr) })
	return nodes, nil
}

// iterCursor is the position of an iteration: a node's address, the SCAN
// cursor on that node and, when a SCAN batch was split across pages, the
// last key already returned from it.
type iterCursor struct {
	node  string
	scan  uint64
	after string
}

// String encodes c as an opaque, URL-safe string.
func (c iterCursor) String() string {
	raw := c.node + "\x00" + strconv.FormatUint(c.scan, 10) + "\x00" + c.after
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func parseCursor(s string) (iterCursor, error) {
	if s == "" {
		return iterCursor{}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return iterCursor{}, fmt.Errorf("redisstore: invalid cursor %q", s)
	}
	parts := strings.SplitN(string(raw), "\x00", 3)
	if len(parts) != 3 {
		return iterCursor{}, fmt.Errorf("redisstore: invalid cursor %q", s)
	}
	scan, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		return iterCursor{}, fmt.Errorf("redisstore: invalid cursor %q", s)
	}
	return iterCursor{node: parts[0], scan: scan, after: parts[2]}, nil
}

// escapeGlob escapes the characters that SCAN MATCH treats as special.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// header is the header field of a session hash, taken apart.
type header struct {
	absolute, created time.Time
	persistent        bool
	userID            string
}

// encodeHeader returns the header field of rec.
func encodeHeader(rec *sessionkit.Record) string {
	b := make([]byte, 0, 2*20+4+len(rec.UserID))
	b = appendTime(b, rec.AbsoluteExpiry)
	b = append(b, ' ')
	b = appendTime(b, rec.CreatedAt)
	b = append(b, ' ')
	b = append(b, encodeBool(rec.Persistent)...)
	b = append(b, ' ')
	b = append(b, rec.UserID...)
	return string(b)
}

// parse sets h from the header field s and reports whether it is well
// formed. The user ID shares the memory of s.
func (h *header) parse(s string) bool {
	abs, s, ok1 := strings.Cut(s, " ")
	created, s, ok2 := strings.Cut(s, " ")
	persist, uid, ok3 := strings.Cut(s, " ")
	if !ok1 || !ok2 || !ok3 || (persist != "0" && persist != "1") {
		return false
	}
	var err1, err2 error
	h.absolute, err1 = decodeTime(abs)
	h.created, err2 = decodeTime(created)
	h.persistent = persist == "1"
	h.userID = uid
	return err1 == nil && err2 == nil
}

// encodeMeta returns the metadata field for m: each key and value as a
// netstring, keys in order.
func encodeMeta(m map[string]string) string {
	var b []byte
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = appendNetstring(b, k)
		b = appendNetstring(b, m[k])
	}
	return string(b)
}

// decodeMeta parses a metadata field. It returns nil for none. The keys
// and values share the memory of s.
func decodeMeta(s string) (map[string]string, bool) {
	var m map[string]string
	for s != "" {
		k, rest, ok := cutNetstring(s)
		if !ok {
			return nil, false
		}
		v, rest, ok := cutNetstring(rest)
		if !ok {
			return nil, false
		}
		if m == nil {
			m = make(map[string]string)
		}
		m[k] = v
		s = rest
	}
	return m, true
}

// encodeTimes returns the times field: "<exp> <last>".
func encodeTimes(expiresAt, lastSeen time.Time) string {
	b := make([]byte, 0, 2*20+1)
	b = appendTime(b, expiresAt)
	b = append(b, ' ')
	b = appendTime(b, lastSeen)
	return string(b)
}

// parseTimes takes apart a times field.
func parseTimes(s string) (expiresAt, lastSeen time.Time, ok bool) {
	exp, last, ok := strings.Cut(s, " ")
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	var err1, err2 error
	expiresAt, err1 = decodeTime(exp)
	lastSeen, err2 = decodeTime(last)
	return expiresAt, lastSeen, err1 == nil && err2 == nil
}

// appendNetstring appends s as its length, a colon and its bytes.
func appendNetstring(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// cutNetstring takes a netstring off the front of s.
func cutNetstring(s string) (v, rest string, ok bool) {
	n, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "", "", false
	}
	l, err := strconv.Atoi(n)
	if err != nil || l < 0 || l > len(rest) {
		return "", "", false
	}
	return rest[:l], rest[l:], true
}

// decodeRecord builds a record from the fields of a session hash. It
// returns nil for a hash without a header, which is not a session.
func decodeRecord(id string, fields map[string]string) (*sessionkit.Record, error) {
	hs, ok := fields[fieldHeader]
	if !ok {
		return nil, nil
	}
	var h header
	if !h.parse(hs) {
		return nil, fmt.Errorf("redisstore: session %s: malformed header", id)
	}
	meta, ok := decodeMeta(fields[fieldMeta])
	if !ok {
		return nil, fmt.Errorf("redisstore: session %s: malformed metadata", id)
	}
	exp, last, ok := parseTimes(fields[fieldTimes])
	if !ok {
		return nil, fmt.Errorf("redisstore: session %s: malformed times", id)
	}
	rec := &sessionkit.Record{
		ID:             id,
		UserID:         h.userID,
		CreatedAt:      h.created,
		LastSeen:       last,
		ExpiresAt:      exp,
		AbsoluteExpiry: h.absolute,
		Persistent:     h.persistent,
		Meta:           meta,
		Values:         make(map[string][]byte, len(fields)),
	}
	// The values share one copy; each is capped at its own end, so that
	// appending to one never overwrites the next.
	n := 0
	for k, v := range fields {
		if strings.HasPrefix(k, valuePrefix) {
			n += len(v)
		}
	}
	buf := make([]byte, 0, n)
	for k, v := range fields {
		if key, ok := strings.CutPrefix(k, valuePrefix); ok {
			i := len(buf)
			buf = append(buf, v...)
			rec.Values[key] = buf[i:len(buf):len(buf)]
		}
	}
	return rec, nil
}

// appendTime appends t as Unix nanoseconds, or "0" for the zero time.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, '0')
	}
	return strconv.AppendInt(b, t.UnixNano(), 10)
}

func decodeTime(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}, err
	}
	return time.Unix(0, n), nil
}

func encodeBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// unixMilli returns t for PEXPIREAT. A zero or earlier time becomes 1,
// which expires the key at once.
func unixMilli(t time.Time) int64 {
	return max(t.UnixMilli(), 1)
}

// wrapErr adds context to err and classifies it; it is the one place where
// the store decides what an error means. When the caller's context has
// ended, the error wraps the context's error (context.Canceled or
// context.DeadlineExceeded), whatever form the client gave it, and never
// sessionkit.ErrUnavailable: cancellation is not an outage. Otherwise it
// is marked with sessionkit.ErrUnavailable when it means that Redis could
// not be reached or cannot serve requests right now.
func wrapErr(ctx context.Context, op string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if errors.Is(err, cerr) {
			return fmt.Errorf("redisstore: %s: %w", op, err)
		}
		return fmt.Errorf("redisstore: %s: %w (%v)", op, cerr, err)
	}
	if unavailable(err) {
		return fmt.Errorf("redisstore: %s: %w: %w", op, sessionkit.ErrUnavailable, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// unavailable reports whether err means that the server could not be
// reached or is not ready. A Redis error reply means the server answered,
// except for the replies of a server that is loading, has lost its
// master or cluster, or is a read-only replica after a failover. The
// caller's cancellation is not an outage either (wrapErr checks the
// caller's context first, so a context error seen here is not the
// caller's).
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true
	}
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) ||
		redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.HasErrorPrefix(err, "NOREPLICAS")
}
