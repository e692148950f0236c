package storeurl

import (
	"strings"
	"testing"
)

func TestRedisURLs(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"redis://localhost:6379/0", "rediss://user:pw@localhost:6380",
		"redis+cluster://h1:7000,h2:7001,h3:7002", "redis+cluster://:pw@h1:7000,h2:7001",
		"redis+sentinel://mymaster@h1:26379,h2:26379/1?password=pw",
	} {
		c, err := RedisClient(u)
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		c.Close()
	}
	for _, u := range []string{"redis+sentinel://h1:26379", "redis+cluster://", "http://x"} {
		if c, err := RedisClient(u); err == nil {
			c.Close()
			t.Errorf("%s: no error", u)
		}
	}
	user, hosts, path, q := splitMultiHost("u:p%40ss@h1:1,h2:2/3?a=b")
	if p, _ := user.Password(); user.Username() != "u" || p != "p@ss" || len(hosts) != 2 || path != "/3" || q.Get("a") != "b" {
		t.Errorf("split: %v %v %v %v", user, hosts, path, q)
	}
	if got := Redact("redis+sentinel://m:secret@h1,h2"); strings.Contains(got, "secret") {
		t.Errorf("redact: %s", got)
	}
}
