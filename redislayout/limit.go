package redislayout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sessionkit/sessionkit"
)

// FieldLink is the hash field of a session that counts the evictions that
// found it not linked to the evicting user: LinkUser links a session only
// if this field has not changed since it read the session.
const FieldLink = "k"

// LimitKey returns the key of the hash that counts the sessions of userID
// against a limit (see LinkUser). It has the same hash tag as UserKey.
func (l Layout) LimitKey(userID string) string {
	return l.prefix + "l:{" + userID + "}"
}

// UserKeys returns the keys of userID's index and limit hash, in the
// order IndexScript, UnindexScript, FinishScript and LimitScript take
// them (LimitScript the other way round: see LimitKeys).
func (l Layout) UserKeys(userID string) []string {
	return []string{l.UserKey(userID), l.LimitKey(userID)}
}

// LimitKeys returns the keys of LimitScript: userID's limit hash, then
// their index.
func (l Layout) LimitKeys(userID string) []string {
	return []string{l.LimitKey(userID), l.UserKey(userID)}
}

// luaLimit defines the helpers of the scripts on a user's keys. An entry
// of the limit hash is "<bound> <created> <state>": the time (Unix ms)
// after which the session surely has expired, its creation time (Unix ns)
// and its state, "l" counted or "e" being evicted.
const luaLimit = `
local function parse(id, v)
  local b, c, s = string.match(v, '^(%d+) (%-?%d+) ([le])$')
  if not b then
    error('malformed limit entry')
  end
  return {id = id, bound = b, created = c, state = s}
end
local function entry(key, id)
  local v = redis.call('HGET', key, id)
  if not v then
    return nil
  end
  return parse(id, v)
end
local function put(key, id, bound, created, state, floor)
  if tonumber(floor) > tonumber(bound) then
    bound = floor
  end
  redis.call('HSET', key, id, bound .. ' ' .. created .. ' ' .. state)
end
-- bytesLess compares byte by byte, as Go does, whatever the server's
-- locale (Lua's < on strings uses strcoll).
local function bytesLess(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end
local function trimIndex(key, now)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIREAT', key, last[2])
  end
end
local function expireLimit(key, now)
  local all = redis.call('HGETALL', key)
  local list, top = {}, nil
  for i = 1, #all, 2 do
    local e = parse(all[i], all[i + 1])
    if tonumber(e.bound) < now then
      redis.call('HDEL', key, e.id)
    else
      list[#list + 1] = e
      if not top or tonumber(e.bound) > tonumber(top) then
        top = e.bound
      end
    end
  end
  if top then
    redis.call('PEXPIREAT', key, top)
  end
  return list
end
`

// LimitScript is the decision of LinkUser, on KEYS[1], the user's limit
// hash, and KEYS[2], their index. It drops the entries of the dead
// sessions the caller names, adds the live sessions of the user that the
// caller found in the index only, then counts the other sessions of the
// user, not being evicted. At the limit, with evict it marks the oldest as
// being evicted until max-1 remain, without it refuses. If it did not
// refuse, it counts the session in the hash and the index. It returns
// {'0'} for a refusal, or {'1', n, the n sessions it marked, the sessions
// marked earlier}. Creation times compare as non-negative numbers (a
// session created before 1970 sorts wrongly) and IDs byte by byte. Its keys are Layout.LimitKeys; its arguments: now (Unix
// ms), max, evict ("1" or "0"), the session to link, its bound (Unix ms)
// and creation time (Unix ns), the number of dead sessions followed by
// their IDs, then for each session to adopt its ID, bound and creation
// time.
const LimitScript = luaLimit + `
local now, max, target = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[4]
local n = tonumber(ARGV[7])
for i = 8, 7 + n do
  redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('ZREM', KEYS[2], ARGV[i])
end
for i = 8 + n, #ARGV, 3 do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1] .. ' ' .. ARGV[i + 2] .. ' l')
end
local others, earlier, mine = {}, {}, nil
for _, e in ipairs(expireLimit(KEYS[1], now)) do
  if e.id == target then
    mine = e
  elseif e.state == 'e' then
    earlier[#earlier + 1] = e.id
  else
    others[#others + 1] = e
  end
end
local marked = {}
if #others >= max then
  if ARGV[3] ~= '1' then
    return {'0'}
  end
  table.sort(others, function(a, b)
    if a.created ~= b.created then
      if #a.created ~= #b.created then
        return #a.created < #b.created
      end
      return bytesLess(a.created, b.created)
    end
    return bytesLess(a.id, b.id)
  end)
  for i = 1, #others - max + 1 do
    local e = others[i]
    put(KEYS[1], e.id, e.bound, e.created, 'e', '0')
    marked[#marked + 1] = e.id
  end
end
put(KEYS[1], target, ARGV[5], ARGV[6], 'l', mine and mine.bound or '0')
expireLimit(KEYS[1], now)
redis.call('ZADD', KEYS[2], 'GT', ARGV[5], target)
trimIndex(KEYS[2], ARGV[1])
local reply = {'1', tostring(#marked)}
for _, id in ipairs(marked) do
  reply[#reply + 1] = id
end
for _, id in ipairs(earlier) do
  reply[#reply + 1] = id
end
return reply
`

// EvictScript ends the session under KEYS[1], marked as being evicted by
// user ARGV[1]: it deletes the session if it is linked to that user, and
// otherwise changes its FieldLink, so that a link of it in flight fails.
// It returns {'1'} if it deleted the session, {'0'} otherwise.
const EvictScript = `
local h = redis.call('HGET', KEYS[1], 'h')
if not h then
  return {'0'}
end
if string.match(h, '^%-?%d+ %-?%d+ [01] (.*)$') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return {'1'}
end
redis.call('HINCRBY', KEYS[1], 'k', 1)
return {'0'}
`

// FinishScript removes the sessions ARGV, which EvictScript ended, from
// the limit hash KEYS[2] if they are still marked as being evicted, and
// from the index KEYS[1]. It returns an empty array. Its keys are
// Layout.UserKeys.
const FinishScript = `
for _, id in ipairs(ARGV) do
  local v = redis.call('HGET', KEYS[2], id)
  if v and string.sub(v, -2) == ' e' then
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[1], id)
  end
end
return {}
`

// LinkScript links the session under KEYS[1] to user ARGV[2] if its
// FieldLink is still ARGV[1] ("" for none). It returns {the header before
// the change}, or nil if there is no session or the field changed.
const LinkScript = `
local h = redis.call('HGET', KEYS[1], 'h')
if not h or (redis.call('HGET', KEYS[1], 'k') or '') ~= ARGV[1] then
  return false
end
local head = string.match(h, '^(%-?%d+ %-?%d+ [01]) ')
if not head then
  return redis.error_reply('malformed session header')
end
redis.call('HSET', KEYS[1], 'h', head .. ' ' .. ARGV[2])
return {h}
`

// LinkFields are the fields of a session hash that LinkUser reads, in the
// order of LinkRead.
var LinkFields = []string{FieldHeader, FieldTimes, FieldLink}

// LinkRead is a session hash as LinkUser reads it: HMGET of LinkFields.
// Found is false when the hash has no header (no session).
type LinkRead struct {
	Header, Times, Link string
	Found               bool
}

// LinkClient is what LinkUser needs of a store's Redis client. Its methods
// return errors already wrapped by the store (WrapError).
type LinkClient interface {
	// ReadUser returns the limit hash of userID (HGETALL LimitKey) and
	// the members of their index (ZRANGE UserKey 0 -1).
	ReadUser(ctx context.Context, userID string) (limit map[string]string, index []string, err error)
	// ReadSessions returns HMGET LinkFields of the sessions ids, in one
	// pipeline.
	ReadSessions(ctx context.Context, ids []string) ([]LinkRead, error)
	// Eval runs script with keys and args (EVALSHA, falling back to
	// EVAL) and returns its reply, an array of strings, or nil for a nil
	// reply.
	Eval(ctx context.Context, script string, keys, args []string) ([]string, error)
	// ApplyIndex makes the index changes c of session id, as after a
	// write.
	ApplyIndex(ctx context.Context, id string, c IndexChange) error
}

// LinkUser implements sessionkit.SessionLimiter for the store named store
// on the native layout, through c; see the package documentation for how
// it is atomic. Its own errors start with the store's name; those of c
// are returned as they are.
// The evicted IDs it returns are the sessions it deleted; with
// sessionkit.ErrNotFound it may still return some, when a concurrent link
// evicted session id after this one made room for it.
func (l Layout) LinkUser(ctx context.Context, c LinkClient, store, id, userID string, max int, evict bool, now time.Time) ([]string, error) {
	if userID == "" {
		return nil, fmt.Errorf("%s: link user: empty user ID", store)
	}
	if max < 1 {
		return nil, fmt.Errorf("%s: link user: limit %d is below 1", store, max)
	}
	reads, err := c.ReadSessions(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	target := reads[0]
	h, exp, err := linkState(store, id, target)
	if err != nil {
		return nil, err
	}
	if !exp.After(now) {
		return nil, sessionkit.ErrNotFound
	}
	bound := IndexScore(exp, h.Absolute)

	limit, index, err := c.ReadUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	args, err := l.limitArgs(ctx, c, store, userID, id, limit, index, now)
	if err != nil {
		return nil, err
	}
	args[1], args[2], args[4], args[5] = strconv.Itoa(max), encodeBool(evict), unixMilli(bound), string(appendTime(nil, h.Created))
	reply, err := c.Eval(ctx, LimitScript, l.LimitKeys(userID), args)
	if err != nil {
		return nil, err
	}
	if len(reply) == 0 || reply[0] != "1" {
		if len(reply) == 1 && reply[0] == "0" {
			return nil, sessionkit.ErrTooManySessions
		}
		return nil, fmt.Errorf("%s: link user: %w reply", store, ErrMalformed)
	}
	if len(reply) < 2 {
		return nil, fmt.Errorf("%s: link user: %w reply", store, ErrMalformed)
	}
	n, err := strconv.Atoi(reply[1])
	if err != nil || n < 0 || n > len(reply)-2 {
		return nil, fmt.Errorf("%s: link user: %w reply", store, ErrMalformed)
	}

	// End the sessions marked as being evicted, this call's and those of
	// calls that stopped before they finished, before linking.
	victims := reply[2:]
	var evicted []string
	for _, v := range victims {
		r, err := c.Eval(ctx, EvictScript, []string{l.SessionKey(v)}, []string{userID})
		if err != nil {
			return evicted, err
		}
		if len(r) == 1 && r[0] == "1" {
			evicted = append(evicted, v)
		}
	}
	if len(victims) > 0 {
		if _, err := c.Eval(ctx, FinishScript, l.UserKeys(userID), victims); err != nil {
			return evicted, err
		}
	}

	old, err := c.Eval(ctx, LinkScript, []string{l.SessionKey(id)}, []string{target.Link, userID})
	if err != nil {
		return evicted, err
	}
	if len(old) != 1 {
		return evicted, sessionkit.ErrNotFound
	}
	oh, err := ParseHeader(old[0])
	if err != nil {
		return evicted, fmt.Errorf("%s: link user: session %s: %w", store, id, err)
	}
	change := IndexChange{Index: userID, Score: bound, Created: h.Created}
	if oh.UserID != userID {
		change.Unindex = oh.UserID
	}
	return evicted, c.ApplyIndex(ctx, id, change)
}

// linkState returns the header and expiry of session id as LinkUser read
// it, sessionkit.ErrNotFound if there is none.
func linkState(store, id string, r LinkRead) (Header, time.Time, error) {
	if !r.Found {
		return Header{}, time.Time{}, sessionkit.ErrNotFound
	}
	h, err := ParseHeader(r.Header)
	if err != nil {
		return Header{}, time.Time{}, fmt.Errorf("%s: link user: session %s: %w", store, id, err)
	}
	exp, _, ok := parseTimes(r.Times)
	if !ok {
		return Header{}, time.Time{}, fmt.Errorf("%s: link user: session %s: %w times", store, id, ErrMalformed)
	}
	return h, exp, nil
}

// limitArgs reads the sessions in the limit hash and the index of userID
// but target, and returns the arguments of LimitScript with the ones that
// depend only on them filled in: the entries of the hash whose session is
// gone or has expired at now (facts that cannot become false), and the
// live sessions of the user that only the index lists (from a version that
// kept no limit hash).
func (l Layout) limitArgs(ctx context.Context, c LinkClient, store, userID, target string, limit map[string]string, index []string, now time.Time) ([]string, error) {
	ids := make([]string, 0, len(limit)+len(index))
	for id := range limit {
		if id != target {
			ids = append(ids, id)
		}
	}
	for _, id := range index {
		if _, ok := limit[id]; !ok && id != target {
			ids = append(ids, id)
		}
	}
	var reads []LinkRead
	if len(ids) > 0 {
		var err error
		if reads, err = c.ReadSessions(ctx, ids); err != nil {
			return nil, err
		}
	}
	args := []string{strconv.FormatInt(now.UnixMilli(), 10), "", "", target, "", "", ""}
	var adopt []string
	for i, id := range ids {
		h, exp, err := linkState(store, id, reads[i])
		if err != nil && !errors.Is(err, sessionkit.ErrNotFound) {
			return nil, err
		}
		live := err == nil && exp.After(now)
		if _, counted := limit[id]; counted {
			if !live {
				args = append(args, id)
			}
		} else if live && h.UserID == userID {
			adopt = append(adopt, id, unixMilli(IndexScore(exp, h.Absolute)), string(appendTime(nil, h.Created)))
		}
	}
	args[6] = strconv.Itoa(len(args) - 7)
	return append(args, adopt...), nil
}
