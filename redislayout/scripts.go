package redislayout

import (
	"strconv"
	"time"

	"github.com/sessionkit/sessionkit"
)

// A delta's field lists can be long, so HSET and HDEL go in chunks, well
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

// Every script takes the keys of one hash slot: one session key, or the
// two keys of one user (Layout.UserKeys). Each store loads them with its
// client's script helper (EVALSHA, falling back to EVAL), so the SHA1 of a
// script is the same whichever client ran it first.

// CreateScript inserts a session unless a key, live session or not, is
// under KEYS[1], the session key. It returns 1 if it inserted the session
// and 0 otherwise. Its arguments are Layout.CreateArgs (or
// RememberCreateArgs): the key's expiry (ms), then the fields.
const CreateScript = luaChunks + `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
chunks('HSET', ARGV, 2, #ARGV)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
`

// luaLive defines live(t, now), which reports whether the times field t
// of a session holds an expiry after now, both decimal Unix nanoseconds; a
// zero or negative expiry never does. It compares the lengths of the two
// numbers, then, for equal lengths, their first ten digits and the rest as
// numbers, each exact in a Lua number (a comparison of strings would
// depend on the server's locale).
const luaLive = `
local function live(t, now)
  if not t then
    return false
  end
  local n = #now
  if string.byte(t, n + 1) ~= 32 then
    local p = string.find(t, ' ', 1, true)
    return p ~= nil and p - 1 > n and string.byte(t, 1) ~= 45
  end
  local a, b = tonumber(string.sub(t, 1, 10)), tonumber(string.sub(now, 1, 10))
  if not a or not b then
    return false
  end
  if a ~= b then
    return a > b
  end
  return (tonumber(string.sub(t, 11, n)) or 0) > (tonumber(string.sub(now, 11)) or 0)
end
`

// UpdateScript applies a delta to the live session under KEYS[1] and
// returns its header before the change, or nil if there is no session or
// it has expired. Its arguments are Layout.UpdateArgs: key expiry (ms),
// times field, now (ns), clear ("1" or "0"), new absolute expiry or "",
// new persist or "", "=" and the new user ID or "", n, n fields to
// delete, then field/value pairs to set.
const UpdateScript = luaChunks + luaLive + `
local cur = redis.call('HMGET', KEYS[1], 'h', 't')
local h = cur[1]
if not h or not live(cur[2], ARGV[3]) then
  return false
end
if ARGV[5] ~= '' or ARGV[6] ~= '' or ARGV[7] ~= '' then
  local abs, created, persist, uid = string.match(h, '^(%-?%d+) (%-?%d+) ([01]) (.*)$')
  if not abs then
    return redis.error_reply('malformed session header')
  end
  if ARGV[5] ~= '' then abs = ARGV[5] end
  if ARGV[6] ~= '' then persist = ARGV[6] end
  if ARGV[7] ~= '' then uid = string.sub(ARGV[7], 2) end
  redis.call('HSET', KEYS[1], 'h', abs .. ' ' .. created .. ' ' .. persist .. ' ' .. uid)
end
if ARGV[4] == '1' then
  local del = {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'v:' then
      del[#del + 1] = f
    end
  end
  chunks('HDEL', del, 1, #del)
end
local n = tonumber(ARGV[8])
local j = math.min(8 + n + 1000, #ARGV)
redis.call('HSET', KEYS[1], 't', ARGV[2], unpack(ARGV, 9 + n, j))
chunks('HSET', ARGV, j + 1, #ARGV)
chunks('HDEL', ARGV, 9, 8 + n)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return h
`

// TouchScript sets the times of the live session under KEYS[1] and
// returns its header, or nil if there is no session or it has expired.
// Its arguments are Layout.TouchArgs: key expiry (ms), times field, now
// (ns).
const TouchScript = luaLive + `
local cur = redis.call('HMGET', KEYS[1], 'h', 't')
local h = cur[1]
if not h or not live(cur[2], ARGV[3]) then
  return false
end
redis.call('HSET', KEYS[1], 't', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return h
`

// DeleteScript deletes the session under KEYS[1], live or expired, and
// returns its user ID, or nil if there was no session: a caller whose
// script got a reply is the one that deleted the key (Remove). With ARGV[1] set, it deletes the session
// only if it belongs to that user. A key without a header is deleted only
// without ARGV[1], and reported as a session without a user. Its
// arguments are DeleteArgs.
const DeleteScript = `
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
`

// IndexScript adds session ARGV[3] with score ARGV[2] (ms) to the user
// index KEYS[1], never lowering a score, removes the entries that expired
// before ARGV[1] (ms) and makes the set expire with its last session. With
// ARGV[4], the session's creation time, it also counts the session in the
// user's limit hash KEYS[2] (see LinkUser): a store passes it only once the
// session is written. It returns 1. Its arguments are IndexArgs or
// CountArgs, its keys Layout.UserKeys.
const IndexScript = luaLimit + `
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[3])
end
trimIndex(KEYS[1], ARGV[1])
if ARGV[4] ~= '' then
  local old = entry(KEYS[2], ARGV[3])
  if old then
    put(KEYS[2], ARGV[3], ARGV[2], old.created, old.state, old.bound)
  else
    put(KEYS[2], ARGV[3], ARGV[2], ARGV[4], 'l', '0')
  end
  expireLimit(KEYS[2], tonumber(ARGV[1]))
end
return 1
`

// UnindexScript removes the sessions ARGV from the user index KEYS[1] and
// the limit hash KEYS[2]. A store runs it after it deleted the sessions or
// moved them to another user, never on what it merely read. It returns 1.
// Its keys are Layout.UserKeys.
const UnindexScript = `
for _, id in ipairs(ARGV) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
end
return 1
`

// Args receives the arguments of a script in order, each one bulk string
// on the wire, in the form its Redis client takes with the least copying.
// The builders below compute their numbers and fields into one string and
// pass its parts, and pass the session's values as they are: a store that
// does not copy them must have sent them when its call returns, as
// go-redis does.
type Args interface {
	// String adds s.
	String(s string)
	// Bytes adds b.
	Bytes(b []byte)
	// Small adds n, a small non-negative number (a count, a flag).
	Small(n int)
}

// CreateArgs adds to a the arguments of CreateScript for rec: its key's
// expiry, then the fields of its hash.
func (l Layout) CreateArgs(a Args, rec *sessionkit.Record) {
	var small [8]valueField
	b := make([]byte, 0, 128+len(rec.UserID))
	b = l.appendKeyExpiry(b, rec.ExpiresAt)
	n1 := len(b)
	b = appendTimes(b, rec.ExpiresAt, rec.LastSeen)
	n2 := len(b)
	b = appendHeader(b, rec)
	n3 := len(b)
	b = appendMeta(b, rec.Meta)
	n4 := len(b)
	b, values := appendValueFields(b, small[:0], rec.Values)
	computed := string(b)
	a.String(computed[:n1])
	a.String(FieldTimes)
	a.String(computed[n1:n2])
	a.String(FieldHeader)
	a.String(computed[n2:n3])
	if n4 > n3 {
		a.String(FieldMeta)
		a.String(computed[n3:n4])
	}
	addValueFields(a, computed, n4, values, true)
}

// UpdateArgs adds to a the arguments of UpdateScript for d, written at
// now.
func (l Layout) UpdateArgs(a Args, d sessionkit.Delta, now time.Time) {
	var small [8]valueField
	b := make([]byte, 0, 192)
	b = l.appendKeyExpiry(b, d.ExpiresAt)
	n1 := len(b)
	b = appendTimes(b, d.ExpiresAt, d.LastSeen)
	n2 := len(b)
	b = strconv.AppendInt(b, now.UnixNano(), 10)
	n3 := len(b)
	if !d.AbsoluteExpiry.IsZero() {
		b = appendTime(b, d.AbsoluteExpiry)
	}
	n4 := len(b)
	if d.UserID != nil {
		b = append(b, '=')
		b = append(b, *d.UserID...)
	}
	n5 := len(b)
	dels := small[:0]
	for _, k := range d.Del {
		b = append(b, ValuePrefix...)
		b = append(b, k...)
		dels = append(dels, valueField{end: len(b)})
	}
	n6 := len(b)
	b, sets := appendValueFields(b, dels[len(dels):], d.Set)
	computed := string(b)
	a.String(computed[:n1])
	a.String(computed[n1:n2])
	a.String(computed[n2:n3])
	a.Small(boolInt(d.Clear))
	a.String(computed[n3:n4]) // "" for no new absolute expiry
	if d.Persistent == nil {
		a.String("")
	} else {
		a.Small(boolInt(*d.Persistent))
	}
	a.String(computed[n4:n5]) // "" for no new user
	a.Small(len(d.Del))
	addValueFields(a, computed, n5, dels, false)
	addValueFields(a, computed, n6, sets, true)
}

// valueField notes a field of a session value in the arguments of a
// script: where its name ends in the string of computed arguments, and
// its value, if it is set.
type valueField struct {
	end   int
	value []byte
}

// appendValueFields appends the field name of each value in values to b,
// in the order of one pass over the map, and notes each in fields.
func appendValueFields(b []byte, fields []valueField, values map[string][]byte) ([]byte, []valueField) {
	for k, v := range values {
		b = append(b, ValuePrefix...)
		b = append(b, k...)
		fields = append(fields, valueField{end: len(b), value: v})
	}
	return b, fields
}

// addValueFields adds to a the fields noted in fields, whose names start
// at start in computed: each name, followed by its value if set.
func addValueFields(a Args, computed string, start int, fields []valueField, set bool) {
	for _, f := range fields {
		a.String(computed[start:f.end])
		if set {
			a.Bytes(f.value)
		}
		start = f.end
	}
}

// TouchArgs adds to a the arguments of TouchScript, written at now.
func (l Layout) TouchArgs(a Args, lastSeen, expiresAt, now time.Time) {
	b := make([]byte, 0, 64)
	b = l.appendKeyExpiry(b, expiresAt)
	n1 := len(b)
	b = appendTimes(b, expiresAt, lastSeen)
	n2 := len(b)
	b = strconv.AppendInt(b, now.UnixNano(), 10)
	computed := string(b)
	a.String(computed[:n1])
	a.String(computed[n1:n2])
	a.String(computed[n2:])
}

// appendKeyExpiry appends the PEXPIREAT argument of the key of a session
// that expires at expiresAt: KeepExpired later, in Unix milliseconds. A
// zero or earlier time becomes 1, which expires the key at once.
func (l Layout) appendKeyExpiry(b []byte, expiresAt time.Time) []byte {
	if !expiresAt.IsZero() {
		expiresAt = expiresAt.Add(l.keep)
	}
	return strconv.AppendInt(b, max(expiresAt.UnixMilli(), 1), 10)
}

// boolInt returns 1 for true and 0 for false, as the scripts take flags.
func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// DeleteArgs returns the arguments of DeleteScript: owner is the user the
// session must belong to, or "" to delete it whoever it belongs to.
func DeleteArgs(owner string) []string {
	return []string{owner}
}

// IndexArgs returns the arguments of IndexScript for a write that has not
// reached the session yet: at now, session id is dead after score. An
// empty id only trims the index.
func IndexArgs(now, score time.Time, id string) []string {
	return []string{strconv.FormatInt(now.UnixMilli(), 10), unixMilli(score), id, ""}
}

// CountArgs returns the arguments of IndexScript after a write of session
// id, created at created, reached it: the session is also counted against
// its user's limit.
func CountArgs(now, score time.Time, id string, created time.Time) []string {
	return []string{strconv.FormatInt(now.UnixMilli(), 10), unixMilli(score), id, string(appendTime(nil, created))}
}

// TrimMax returns the max argument of the ZREMRANGEBYSCORE (from "-inf")
// that removes the entries of a user index that have expired at now.
func TrimMax(now time.Time) string {
	return "(" + strconv.FormatInt(now.UnixMilli(), 10)
}

// unixMilli returns t for PEXPIREAT. A zero or earlier time becomes 1,
// which expires the key at once.
func unixMilli(t time.Time) string {
	return strconv.FormatInt(max(t.UnixMilli(), 1), 10)
}

func encodeBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
