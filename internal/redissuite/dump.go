package redissuite

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RandomPrefix returns a key prefix of its own for one test.
func RandomPrefix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "sktest:" + hex.EncodeToString(b) + ":"
}

// Dump returns every key under prefix with its contents, from every
// master when c is a Cluster client, for the conformance suite's checks
// of what a store writes.
func Dump(t *testing.T, c redis.UniversalClient, prefix string) []byte {
	t.Helper()
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			var out []string
			switch c.Type(ctx, key).Val() {
			case "hash":
				for k, v := range c.HGetAll(ctx, key).Val() {
					out = append(out, k, v)
				}
			case "zset":
				out = c.ZRange(ctx, key, 0, -1).Val()
			case "string":
				out = []string{c.Get(ctx, key).Val()}
			default:
				t.Errorf("unexpected key %s", key)
			}
			mu.Lock()
			buf.WriteString(key + "\n" + strings.Join(out, "\n") + "\n")
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(t.Context(), func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(t.Context(), c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
