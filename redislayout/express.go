package redislayout

import (
	"math"
	"time"

	"github.com/sessionkit/sessionkit/express"
)

// The express-session layout is connect-redis's: a session is the string
// key ExpressPrefix + its ID holding the JSON of package express, expiring
// at cookie.expires when the cookie has it, after the store's TTL
// otherwise, in whole seconds.

// Defaults of the express-session layout, those of connect-redis.
const (
	DefaultExpressPrefix = "sess:"
	DefaultExpressTTL    = 86400 * time.Second
)

// ExpressKey returns the key of the express-session session id under
// prefix.
func ExpressKey(prefix, id string) string { return prefix + id }

// ExpressTTL returns the expiry connect-redis gives sess when it saves it
// at now, with ttl the store's TTL for sessions without cookie.expires:
// whole seconds, rounded up. A result of zero or less means that the save
// destroys the session.
func ExpressTTL(sess *express.Session, now time.Time, ttl time.Duration) time.Duration {
	d := sess.TTL(now, ttl)
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}
