package rueidistest

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/redisstore"
	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/remember/remembertest"
	"github.com/sessionkit/sessionkit/rueidisstore"
)

// TestRememberConformance runs remembertest on every deployment. The second
// instance is redisstore's RememberStore on a go-redis client under the
// same prefix, so the check also proves that the two stores share the
// layout: each sees, rotates and deletes the other's tokens.
func TestRememberConformance(t *testing.T) {
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			c, other := d.start(t)
			prefixes := map[remember.Store]string{}
			remembertest.Run(t, remembertest.Options{
				New: func(t *testing.T) remember.Store {
					prefix := redissuite.RandomPrefix()
					r, err := rueidisstore.NewRememberStore(newStore(t, c, prefix))
					if err != nil {
						t.Fatal(err)
					}
					prefixes[r] = prefix
					return r
				},
				Reopen: func(t *testing.T, st remember.Store) remember.Store {
					return goRedisRemember(t, other, prefixes[st])
				},
				ServerExpiry: true,
			})
		})
	}
}

func goRedisRemember(t *testing.T, c redis.UniversalClient, prefix string) *redisstore.RememberStore {
	t.Helper()
	s, err := redisstore.New(c, redisstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	r, err := redisstore.NewRememberStore(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
