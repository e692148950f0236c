// Package redislayout is the one definition of how sessionkit keeps
// sessions in Redis, shared by the stores built on different Redis clients
// (redisstore on go-redis, rueidisstore on rueidis) so that they read and
// write the same data: a fleet where some instances run one store and some
// the other shares its sessions.
//
// It defines the keys, the Lua scripts (their source and their arguments,
// as the bulk strings Redis receives), the encoding of a session hash, the
// per-user index and the iteration cursor of the native layout, and the
// keys and expiry of the express-session layout. It depends on no Redis
// client: where a sequence of commands is shared too (Iterate, LinkUser,
// ListByUser and DeleteByUser, the remember-me flows of RememberTokens),
// it runs them through a small interface per flow that each store
// implements on its client (Node, LinkClient, UserClient,
// RememberClient), and it hands the arguments of the hot scripts to the
// store through Args, in the form its client takes with the least copying.
//
// # The native layout
//
// Each session is a hash under Prefix+"s:{"+ID+"}" whose key expires
// KeepExpired after the session's ExpiresAt (PEXPIREAT, rounded down to the
// millisecond), so that an iteration still finds an expired session for
// that long (see Layout.WithKeepExpired). Its fields are:
//
//	t    "<expires> <last seen>"
//	h    "<absolute expiry> <created> <persistent> <user ID>"
//	m    the metadata, each key and value as a netstring (length, colon, bytes)
//	v:K  the value of key K
//
// with times in decimal Unix nanoseconds ("0" for the zero time),
// persistent "1" or "0" and the user ID to the end of the header; a field
// k (FieldLink) appears once an eviction found the session not linked to
// the evicting user (see below). Each user with sessions has a sorted set
// under Prefix+"u:{"+userID+"}" of their session IDs, scored by the time
// in Unix milliseconds after which the session has surely expired (see
// IndexScore), and expiring with its last entry, and a hash under
// Prefix+"l:{"+userID+"}", the limit hash, described below. Every script
// touches the keys of one hash slot, either one session key or the two
// keys of one user, whose hash tag is the user ID, so the layout works on
// a Redis Cluster without CROSSSLOT errors.
//
// A session whose ExpiresAt has passed is dead though its key may still
// exist: reads hide it (Live), and the update and touch scripts, which take
// the writer's clock as an argument, refuse it as if it were gone, by a
// comparison of the decimal digits of its expiry. Otherwise the scripts
// never parse the times. They return the header and take it apart only to
// change the user, the absolute expiry or the remember-me flag.
//
// # Session limits
//
// Layout.LinkUser implements sessionkit.SessionLimiter for both stores. A
// session key and its user's keys are in different slots, so no script can
// see both; the decision is therefore taken on the user's keys alone, by
// LimitScript, and everything else is arranged so that the decision never
// undercounts.
//
// The limit hash has one field per session counted against the user:
// "<bound> <created> <state>", the time (Unix ms) after which the session
// has surely expired, as in the index, its creation time (Unix ns, for the
// order of eviction) and its state, "l" (counted) or "e" (being evicted).
// An entry is added only once the session is known to exist with that
// user: by IndexScript after a write reached the session (CountArgs: after
// Create, Update, Touch, and when a listing finds an indexed session), and
// by LimitScript for the session being linked, which LinkUser read before.
// It is removed only on facts that cannot become false: by UnindexScript,
// which a store runs after it deleted the session or moved it to another
// user itself; by LimitScript for the sessions that LinkUser found gone or
// expired at now (a session that existed does not come back); when its
// bound passes; and by FinishScript once an eviction is done. A listing
// that finds a session not (yet) linked to the user drops it from the
// index only, never from the limit hash: a link in flight stays counted.
//
// LinkUser(id, user, max, evict, now) runs in four steps:
//
//  1. It reads the session id (its header, times and FieldLink), the
//     user's limit hash and index, and the sessions these name. It fails
//     with sessionkit.ErrNotFound if id is gone or expired.
//  2. LimitScript, one atomic script on the user's two keys, drops the
//     entries found dead, adds the live sessions of the user that only the
//     index names (written by a version without limit hashes), counts the
//     other entries in state "l", and at max or more either refuses
//     (sessionkit.ErrTooManySessions, nothing else changes) or marks the
//     oldest (by creation time, then ID) "e" until max-1 remain. It then
//     counts id, in state "l", in the hash and the index. It returns the
//     sessions it marked and every other session still marked "e".
//  3. For each marked session, EvictScript deletes it if it is linked to
//     the user, and otherwise increments its FieldLink; FinishScript then
//     drops the marked entries.
//  4. LinkScript writes the user ID into id only if its FieldLink is the
//     one read in step 1, and IndexScript records it as after any write.
//
// Two links of the same user are serialized by step 2: the second counts
// the first's session, linked or not yet. A session is linked (step 4)
// only after every eviction its decision relied on is done (step 3), so
// the linked sessions are at most the entries in state "l" plus the
// sessions still marked "e" whose place no link has taken yet. A marked
// session that another LinkUser is linking at the same time is either
// linked already, and then deleted, or has its FieldLink changed first,
// and then that link fails with sessionkit.ErrNotFound.
//
// Each step after the decision is safe to run late or twice: deleting a
// deleted session does nothing, and FieldLink only grows. If an instance
// stops between steps:
//
//   - after step 2, before step 3: the sessions it marked stay marked and
//     alive, and its own session is counted but not linked, so the user
//     has no more linked sessions than before. The next LinkUser of the
//     user ends the marked sessions before it links its own.
//   - after step 3, before step 4: its session stays counted without being
//     linked, until it expires or is linked again; the user has fewer
//     linked sessions than the limit allows, never more.
//   - in step 4, after LinkScript: the session is linked and counted; only
//     the index may miss it until its next write.
//
// None of these lets the user exceed the limit. Sessions that reach a
// user through Create or Update rather than LinkUser (a renewal, which
// carries the user over) are counted too, after their write, but not
// limited: the manager links through LinkUser. Sessions created by a
// version without limit hashes are counted from the first LinkUser of
// their user, which adopts them from the index.
//
// The express-session layout has no user index and no limit: its stores
// do not implement sessionkit.SessionLimiter.
package redislayout

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit"
)

// DefaultPrefix is the key prefix of a Layout created with an empty one.
const DefaultPrefix = "sk:"

// Hash fields of a session: its times, which every write replaces; its
// header, which the scripts read; its metadata, which never changes; and
// each value, under ValuePrefix+key. Few fields make a load cheap, and
// short ones let Redis keep the hash in its compact encoding.
const (
	FieldTimes  = "t"
	FieldHeader = "h"
	FieldMeta   = "m"
	ValuePrefix = "v:"
)

// Layout holds the keys of the native layout under one prefix. The zero
// value is not usable; create one with New.
type Layout struct {
	prefix string
	keep   time.Duration
}

// New returns the layout of the keys under prefix, DefaultPrefix if it is
// empty. The prefix must not contain '{' or '}', which Redis Cluster reads
// as a hash tag.
func New(prefix string) (Layout, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return Layout{}, fmt.Errorf("prefix %q contains a brace", prefix)
	}
	return Layout{prefix: prefix, keep: sessionkit.DefaultKeepExpired}, nil
}

// WithKeepExpired returns l with session keys that expire keep after the
// session's ExpiresAt rather than at it: zero means
// sessionkit.DefaultKeepExpired, a negative keep none (the key expires with
// the session). New returns a layout that keeps expired sessions
// DefaultKeepExpired.
func (l Layout) WithKeepExpired(keep time.Duration) Layout {
	switch {
	case keep == 0:
		keep = sessionkit.DefaultKeepExpired
	case keep < 0:
		keep = 0
	}
	l.keep = keep
	return l
}

// KeepExpired returns how long a session key outlives the session's
// ExpiresAt.
func (l Layout) KeepExpired() time.Duration { return l.keep }

// Prefix returns the prefix of every key of l.
func (l Layout) Prefix() string { return l.prefix }

// SessionKey returns the key of the hash that holds session id. The ID is
// the hash tag, so a Cluster places each session by its own ID.
func (l Layout) SessionKey(id string) string {
	return l.prefix + "s:{" + id + "}"
}

// UserKey returns the key of the sorted set that indexes the sessions of
// userID.
func (l Layout) UserKey(userID string) string {
	return l.prefix + "u:{" + userID + "}"
}

// IDFromKey returns the session ID in a session key, or "" if key is not
// one.
func (l Layout) IDFromKey(key string) string {
	rest, ok := strings.CutPrefix(key, l.prefix+"s:{")
	if !ok {
		return ""
	}
	id, ok := strings.CutSuffix(rest, "}")
	if !ok {
		return ""
	}
	return id
}

// ScanMatch returns the SCAN MATCH pattern of the session keys; the keys
// are hashes (SCAN TYPE hash).
func (l Layout) ScanMatch() string {
	return escapeGlob(l.prefix) + "s:{*}"
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

// ErrMalformed is wrapped by the errors that report a session hash, a
// script reply or a cursor that does not parse. Such errors never quote
// the session's fields, which hold the user ID, IP address and user agent.
var ErrMalformed = errors.New("malformed")
