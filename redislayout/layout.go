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
// client; it neither sends commands nor classifies errors, which stay with
// each store.
//
// # The native layout
//
// Each session is a hash under Prefix+"s:{"+ID+"}" whose key expires at
// the session's ExpiresAt (PEXPIREAT, rounded down to the millisecond). Its
// fields are:
//
//	t    "<expires> <last seen>"
//	h    "<absolute expiry> <created> <persistent> <user ID>"
//	m    the metadata, each key and value as a netstring (length, colon, bytes)
//	v:K  the value of key K
//
// with times in decimal Unix nanoseconds ("0" for the zero time),
// persistent "1" or "0" and the user ID to the end of the header. Each
// user with sessions has a sorted set under Prefix+"u:{"+userID+"}" of
// their session IDs, scored by the time in Unix milliseconds after which
// the session has surely expired (see IndexScore), and expiring with its
// last entry. Every script touches a single key, and the hash tag of a
// key is the session or user ID, so the layout works on a Redis Cluster
// without CROSSSLOT errors.
//
// The scripts never parse the times: a session whose key exists has not
// expired. They return the header and take it apart only to change the
// user, the absolute expiry or the remember-me flag.
package redislayout

import (
	"errors"
	"fmt"
	"strings"
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
	return Layout{prefix: prefix}, nil
}

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
