package redistest

import (
	"net"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit/cookiestore"
	"github.com/sessionkit/sessionkit/cookiestore/revocationstest"
	"github.com/sessionkit/sessionkit/internal/redissuite"
	"github.com/sessionkit/sessionkit/internal/testserver"
	"github.com/sessionkit/sessionkit/redisstore"
)

// TestRevocations runs the cookie-store revocation conformance suite on
// each deployment: every handle the suite asks for has a client of its own,
// as a second app instance or a restarted one would.
func TestRevocations(t *testing.T) {
	deployments := []struct {
		name  string
		start func(t *testing.T) *redis.UniversalOptions
	}{
		{"Standalone", func(t *testing.T) *redis.UniversalOptions {
			return &redis.UniversalOptions{Addrs: []string{testserver.StartRedis(t).Addr}}
		}},
		{"Cluster", func(t *testing.T) *redis.UniversalOptions {
			return &redis.UniversalOptions{Addrs: testserver.StartRedisCluster(t), IsClusterMode: true}
		}},
		{"Sentinel", func(t *testing.T) *redis.UniversalOptions {
			name, sentinels, _ := testserver.StartRedisSentinel(t)
			return &redis.UniversalOptions{Addrs: sentinels, MasterName: name}
		}},
	}
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			opts := d.start(t)
			prefix := redissuite.RandomPrefix()
			open := func(t *testing.T, o redis.UniversalOptions) cookiestore.Revocations {
				r, err := redisstore.NewRevocations(newClient(t, &o), redisstore.RevocationsOptions{Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			revocationstest.Run(t, revocationstest.Options{
				New: func(t *testing.T) cookiestore.Revocations { return open(t, *opts) },
				Unavailable: func(t *testing.T) cookiestore.Revocations {
					o := *opts
					o.Addrs = []string{closedAddr(t)}
					o.MaxRetries = -1
					return open(t, o)
				},
			})
		})
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
