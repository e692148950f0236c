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
	return &Store{client: client, prefix: opts.Prefix}, nil
}

// Hash fields of a session. Values are stored under valuePrefix+key and
// Meta entries under metaPrefix+key, so they never collide with each other
// or with the other fields.
const (
	fieldUserID     = "uid"
	fieldCreated    = "created"
	fieldLastSeen   = "last"
	fieldExpires    = "exp"
	fieldAbsolute   = "abs"
	fieldPersistent = "persist"
	valuePrefix     = "v:"
	metaPrefix      = "m:"
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

// Lua helpers shared by the scripts. ARGV arrays can be long, so HSET and
// HDEL go in chunks to stay below Lua's unpack limit.
const luaHelpers = `
local function hset(key, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 199, to)
    redis.call('HSET', key, unpack(ARGV, i, j))
    i = j + 1
  end
end
local function hdel(key, list, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 199, to)
    redis.call('HDEL', key, unpack(list, i, j))
    i = j + 1
  end
end
`

// createScript inserts a session unless a live one, or a key that is not a
// session, is under KEYS[1]. An expired session not yet removed by Redis is
// replaced.
// ARGV: now (ns), expiry (ms), then field/value pairs.
var createScript = redis.NewScript(luaHelpers + `
local exp = redis.call('HGET', KEYS[1], 'exp')
if exp then
  if tonumber(exp) > tonumber(ARGV[1]) then
    return 0
  end
  redis.call('DEL', KEYS[1])
elseif redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
hset(KEYS[1], 3, #ARGV)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`)

// updateScript applies a delta to a live session and returns its user ID
// and absolute expiry before the change, or nil if the session is gone.
// ARGV: now (ns), expiry (ms), clear ("1" or "0"), n, n fields to delete,
// then field/value pairs to set.
var updateScript = redis.NewScript(luaHelpers + `
local cur = redis.call('HMGET', KEYS[1], 'exp', 'uid', 'abs')
if not cur[1] or tonumber(cur[1]) <= tonumber(ARGV[1]) then
  return false
end
if ARGV[3] == '1' then
  local del = {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'v:' then
      del[#del + 1] = f
    end
  end
  hdel(KEYS[1], del, 1, #del)
end
local n = tonumber(ARGV[4])
hset(KEYS[1], 5 + n, #ARGV)
hdel(KEYS[1], ARGV, 5, 4 + n)
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return {cur[2] or '', cur[3] or '0'}
`)

// touchScript sets the last-seen time and expiry of a live session and
// returns its user ID and absolute expiry, or nil if the session is gone.
// ARGV: now (ns), expiry (ms), last seen (ns), expiry (ns).
var touchScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'exp', 'uid', 'abs')
if not cur[1] or tonumber(cur[1]) <= tonumber(ARGV[1]) then
  return false
end
redis.call('HSET', KEYS[1], 'last', ARGV[3], 'exp', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return {cur[2] or '', cur[3] or '0'}
`)

// deleteScript deletes a session and returns its user ID, or nil if there
// was no session. With ARGV[1] set, it deletes the session only if it
// belongs to that user.
var deleteScript = redis.NewScript(`
local uid = redis.call('HGET', KEYS[1], 'uid')
if not uid then
  if redis.call('DEL', KEYS[1]) == 1 then
    return ''
  end
  return false
end
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
		return nil, wrapErr("load", err)
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
	args := make([]any, 0, 2+2*(6+len(rec.Meta)+len(rec.Values)))
	args = append(args, now(), unixMilli(rec.ExpiresAt),
		fieldUserID, rec.UserID,
		fieldCreated, encodeTime(rec.CreatedAt),
		fieldLastSeen, encodeTime(rec.LastSeen),
		fieldExpires, encodeTime(rec.ExpiresAt),
		fieldAbsolute, encodeTime(rec.AbsoluteExpiry),
		fieldPersistent, encodeBool(rec.Persistent),
	)
	for k, v := range rec.Meta {
		args = append(args, metaPrefix+k, v)
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
		return wrapErr("create", err)
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
	args := make([]any, 0, 5+len(d.Del)+2*(len(d.Set)+5))
	args = append(args, now(), unixMilli(d.ExpiresAt), encodeBool(d.Clear), len(d.Del))
	for _, k := range d.Del {
		args = append(args, valuePrefix+k)
	}
	for k, v := range d.Set {
		args = append(args, valuePrefix+k, v)
	}
	args = append(args,
		fieldLastSeen, encodeTime(d.LastSeen),
		fieldExpires, encodeTime(d.ExpiresAt),
	)
	if !d.AbsoluteExpiry.IsZero() {
		args = append(args, fieldAbsolute, encodeTime(d.AbsoluteExpiry))
	}
	if d.UserID != nil {
		args = append(args, fieldUserID, *d.UserID)
	}
	if d.Persistent != nil {
		args = append(args, fieldPersistent, encodeBool(*d.Persistent))
	}
	// A new user is indexed before and after, as in Create.
	if d.UserID != nil && *d.UserID != "" {
		err := s.index(ctx, *d.UserID, id, indexScore(d.ExpiresAt, d.AbsoluteExpiry))
		if err != nil {
			return err
		}
	}
	res, err := updateScript.Run(ctx, s.client, []string{s.sessionKey(id)}, args...).StringSlice()
	if err == redis.Nil {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return wrapErr("update", err)
	}
	if len(res) != 2 {
		return fmt.Errorf("redisstore: update: unexpected reply %q", res)
	}
	oldUID := res[0]
	abs := d.AbsoluteExpiry
	if abs.IsZero() {
		if abs, err = decodeTime(res[1]); err != nil {
			return fmt.Errorf("redisstore: update: session %s: field abs: %w", id, err)
		}
	}
	newUID := oldUID
	if d.UserID != nil {
		newUID = *d.UserID
	}
	if oldUID != "" && oldUID != newUID {
		if err := s.unindex(ctx, oldUID, id); err != nil {
			return err
		}
	}
	// The index entry is scored by the absolute expiry, which a plain
	// update leaves alone, so usually it need not be written.
	if newUID != "" && (newUID != oldUID || !d.AbsoluteExpiry.IsZero() || abs.IsZero() || d.ExpiresAt.After(abs)) {
		return s.index(ctx, newUID, id, indexScore(d.ExpiresAt, abs))
	}
	return nil
}

// Touch sets the last-seen time and expiry of the live session id without
// rewriting its values. It returns sessionkit.ErrNotFound if the session
// is gone.
func (s *Store) Touch(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	res, err := touchScript.Run(ctx, s.client, []string{s.sessionKey(id)},
		now(), unixMilli(expiresAt), encodeTime(lastSeen), encodeTime(expiresAt)).StringSlice()
	if err == redis.Nil {
		return sessionkit.ErrNotFound
	}
	if err != nil {
		return wrapErr("touch", err)
	}
	if len(res) != 2 {
		return fmt.Errorf("redisstore: touch: unexpected reply %q", res)
	}
	uid := res[0]
	abs, err := decodeTime(res[1])
	if err != nil {
		return fmt.Errorf("redisstore: touch: session %s: field abs: %w", id, err)
	}
	// The index entry is scored by the absolute expiry, which a touch
	// cannot pass, so it is written only for sessions without one.
	if uid != "" && (abs.IsZero() || expiresAt.After(abs)) {
		return s.index(ctx, uid, id, indexScore(expiresAt, abs))
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
		return wrapErr("delete", err)
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
		return wrapErr("index", err)
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
		return wrapErr("unindex", err)
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
			return n, wrapErr("delete by user", err)
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
		return nil, wrapErr("list by user", err)
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
		return nil, wrapErr("read sessions", err)
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
				return nil, "", wrapErr("iterate", err)
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
		return nil, wrapErr("iterate", err)
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

// decodeRecord builds a record from the fields of a session hash. It
// returns nil for an empty hash.
func decodeRecord(id string, fields map[string]string) (*sessionkit.Record, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	// Six fields are metadata; most of the others are values.
	rec := &sessionkit.Record{ID: id, Values: make(map[string][]byte, max(len(fields)-6, 0))}
	var err error
	for k, v := range fields {
		switch k {
		case fieldUserID:
			rec.UserID = v
		case fieldCreated:
			rec.CreatedAt, err = decodeTime(v)
		case fieldLastSeen:
			rec.LastSeen, err = decodeTime(v)
		case fieldExpires:
			rec.ExpiresAt, err = decodeTime(v)
		case fieldAbsolute:
			rec.AbsoluteExpiry, err = decodeTime(v)
		case fieldPersistent:
			rec.Persistent = v == "1"
		default:
			if key, ok := strings.CutPrefix(k, valuePrefix); ok {
				rec.Values[key] = []byte(v)
			} else if key, ok := strings.CutPrefix(k, metaPrefix); ok {
				if rec.Meta == nil {
					rec.Meta = make(map[string]string)
				}
				rec.Meta[key] = v
			}
		}
		if err != nil {
			return nil, fmt.Errorf("redisstore: session %s: field %s: %w", id, k, err)
		}
	}
	return rec, nil
}

// encodeTime formats t as Unix nanoseconds, or "0" for the zero time.
func encodeTime(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixNano(), 10)
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

// now returns the current time in Unix nanoseconds, as the scripts compare
// it with the stored expiry.
func now() string {
	return strconv.FormatInt(time.Now().UnixNano(), 10)
}

// unixMilli returns t for PEXPIREAT. A zero or earlier time becomes 1,
// which expires the key at once.
func unixMilli(t time.Time) int64 {
	return max(t.UnixMilli(), 1)
}

// wrapErr adds context to err and marks it with sessionkit.ErrUnavailable
// when it means that Redis could not be reached or cannot serve requests
// right now.
func wrapErr(op string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("redisstore: %s: %w: %w", op, sessionkit.ErrUnavailable, err)
	}
	return fmt.Errorf("redisstore: %s: %w", op, err)
}

// unavailable reports whether err means that the server could not be
// reached or is not ready. A Redis error reply means the server answered,
// except for the replies of a server that is loading, has lost its
// master or cluster, or is a read-only replica after a failover.
func unavailable(err error) bool {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return true
	}
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) ||
		redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) ||
		redis.HasErrorPrefix(err, "NOREPLICAS")
}
