package testserver

import (
	"strings"
	"testing"
)

func TestStartRedis(t *testing.T) {
	r := StartRedis(t)
	if _, err := RedisDo(r.Addr, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if _, err := RedisDo(r.Addr, "PING"); err == nil {
		t.Fatal("PING succeeded on a stopped server")
	}
	r.Start()
	if got, err := RedisDo(r.Addr, "GET", "k"); err != nil || got != "" {
		t.Fatalf("GET after restart = %q, %v; want empty", got, err)
	}
}

func TestStartRedisCluster(t *testing.T) {
	addrs := StartRedisCluster(t)
	if len(addrs) != 3 {
		t.Fatalf("got %d nodes", len(addrs))
	}
	nodes, err := RedisDo(addrs[0], "CLUSTER", "NODES")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(nodes, "master"); n != 3 {
		t.Fatalf("CLUSTER NODES lists %d masters:\n%s", n, nodes)
	}
}

func TestStartRedisSentinel(t *testing.T) {
	name, sentinels, nodes := StartRedisSentinel(t)
	addr, err := RedisDo(sentinels[0], "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Replace(addr, "\n", ":", 1); got != nodes[0] {
		t.Fatalf("sentinel master = %q, want %q", got, nodes[0])
	}
}
