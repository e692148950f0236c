package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
)

// DefaultRevocationsPrefix starts the keys of Revocations when
// RevocationsOptions.Prefix is empty.
const DefaultRevocationsPrefix = "sk:revoked:"

// RevocationsOptions configures Revocations.
type RevocationsOptions struct {
	// Prefix starts every key. Empty means DefaultRevocationsPrefix. It
	// must not contain '{' or '}', which Redis Cluster reads as a hash tag.
	Prefix string
}

// Revocations is a cookiestore.Revocations kept in Redis, shared by every
// app instance that uses the same server and prefix, and surviving their
// restarts. Plug it into cookiestore.Options.Revocations.
//
// Each entry is a string key whose TTL is the entry's deadline, so Redis
// purges it by itself and Purge does nothing. A revoked session is the key
// Prefix+"s:{USER}:ID" (USER is "" for a session without a user; a revoked
// session with a user also gets the key without one, so that a copy of the
// cookie sealed before the login is revoked too), and a user's cutoff is the
// key Prefix+"u:{USER}" holding the cutoff in Unix nanoseconds, zero-padded
// to 20 digits. In USER, '%', '{' and '}' are written %25, %7B and %7D. The
// braces are a Redis Cluster hash tag: a user's keys share one slot, so
// Revoked reads the session's key and its user's cutoff with one MGET, one
// round trip, on a Cluster too; the keys of different users spread over
// the cluster. Writes run a script on one key at a time.
//
// A session's user must not change from one user to another without a new
// session ID (the manager's Renew, which a login calls): an entry is found
// under the user the session had when it was revoked, and under no user.
//
// Deadlines become TTLs by this process's clock. Revoked fails closed:
// when Redis cannot be reached it returns an error wrapping
// sessionkit.ErrUnavailable, and the cookie store refuses the cookie.
type Revocations struct {
	*reloader
	client redis.UniversalClient
	prefix string
}

// NewRevocations returns a Revocations that keeps its entries in Redis
// through client. It does not contact the server. The caller keeps
// ownership of client and closes it when done.
func NewRevocations(client redis.UniversalClient, opts RevocationsOptions) (*Revocations, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = DefaultRevocationsPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("redisstore: revocations prefix %q contains '{' or '}'", prefix)
	}
	return &Revocations{reloader: newReloader(client), client: client, prefix: prefix}, nil
}

// tagEscaper makes a user ID safe inside a hash tag.
var tagEscaper = strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D")

// sessionKey is the key of the revoked session id of userID.
func (r *Revocations) sessionKey(userID, id string) string {
	return r.prefix + "s:{" + tagEscaper.Replace(userID) + "}:" + id
}

// userKey is the key of userID's cutoff, in the slot of its sessionKeys.
func (r *Revocations) userKey(userID string) string {
	return r.prefix + "u:{" + tagEscaper.Replace(userID) + "}"
}

// cutoff formats t so that string order is time order: Unix nanoseconds,
// zero-padded to 20 digits (times before 1970 count as 1970).
func cutoff(t time.Time) string {
	return fmt.Sprintf("%020d", max(t.UnixNano(), 0))
}

// Revoked reports whether rec's session or its user's sessions created
// before rec.CreatedAt were revoked, with one GET or MGET.
func (r *Revocations) Revoked(ctx context.Context, rec *sessionkit.Record) (bool, error) {
	if rec.UserID == "" {
		n, err := r.client.Exists(ctx, r.sessionKey("", rec.ID)).Result()
		if err != nil {
			return false, r.wrapErr(ctx, "check revocation", err)
		}
		return n > 0, nil
	}
	vals, err := r.client.MGet(ctx, r.sessionKey(rec.UserID, rec.ID), r.userKey(rec.UserID)).Result()
	if err != nil {
		return false, r.wrapErr(ctx, "check revocation", err)
	}
	if vals[0] != nil {
		return true, nil
	}
	before, _ := vals[1].(string)
	return before != "" && cutoff(rec.CreatedAt) < before, nil
}

// Revoke revokes the session id of userID until until.
func (r *Revocations) Revoke(ctx context.Context, id, userID string, until time.Time) error {
	keys := []string{r.sessionKey(userID, id)}
	if userID != "" {
		keys = append(keys, r.sessionKey("", id))
	}
	for _, key := range keys {
		if err := r.keep(ctx, key, "1", until); err != nil {
			return r.wrapErr(ctx, "revoke", err)
		}
	}
	return nil
}

// RevokeUser revokes the sessions of userID created before before, until
// until.
func (r *Revocations) RevokeUser(ctx context.Context, userID string, before, until time.Time) error {
	if err := r.keep(ctx, r.userKey(userID), cutoff(before), until); err != nil {
		return r.wrapErr(ctx, "revoke user", err)
	}
	return nil
}

// Purge does nothing: Redis expires the entries itself. It returns 0, and
// an error only when ctx has ended.
func (r *Revocations) Purge(ctx context.Context) (int, error) {
	return 0, ctx.Err()
}

// keepScript sets KEYS[1] to the larger of its value and ARGV[1] (strings of
// equal length) and its TTL to the larger of its TTL and ARGV[2]
// milliseconds, so that no later call weakens an entry.
var keepScript = redis.NewScript(`
local v = ARGV[1]
local cur = redis.call('GET', KEYS[1])
if cur and cur > v then v = cur end
local ttl = tonumber(ARGV[2])
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], v, 'PX', ttl)
return 1
`)

// keep writes value at key until until, as keepScript does. An entry whose
// deadline has passed is not written.
func (r *Revocations) keep(ctx context.Context, key, value string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	ms := (ttl + time.Millisecond - 1) / time.Millisecond
	return keepScript.Run(ctx, r.client, []string{key}, value, int64(ms)).Err()
}
