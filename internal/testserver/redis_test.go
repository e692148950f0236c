package testserver

import (
	"strings"
	"testing"
	"time"
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

func TestStartRedisClusterWithReplicas(t *testing.T) {
	c := StartRedisClusterWith(t, RedisClusterOptions{
		Replicas: 1, NodeTimeout: 1000 * time.Millisecond,
		Args: []string{"--cluster-require-full-coverage", "no"},
	})
	if len(c.Masters) != 3 {
		t.Fatalf("got masters %v", c.Masters)
	}
	for _, m := range c.Masters {
		if len(c.Replicas[m]) != 1 {
			t.Fatalf("master %s has replicas %v", m, c.Replicas[m])
		}
	}
	if got, err := RedisDo(c.Masters[2], "CONFIG", "GET", "cluster-require-full-coverage"); err != nil || got != "cluster-require-full-coverage\nno" {
		t.Fatalf("CONFIG GET = %q, %v; want the extra argument applied", got, err)
	}
	// The first master owns slot 0, where key "{3560}" lives (CLUSTER KEYSLOT).
	if slot, err := RedisDo(c.Masters[0], "CLUSTER", "KEYSLOT", "{3560}"); err != nil || slot != "0" {
		t.Fatalf("KEYSLOT = %q, %v", slot, err)
	}
	// Replication is asynchronous: wait until the replica has the write.
	// WAIT counts the acknowledgements of its own connection's writes, so
	// both go on one connection.
	got, err := RedisDoAll(c.Masters[0], []string{"SET", "{3560}", "v"}, []string{"WAIT", "1", "5000"})
	if err != nil || got[1] != "1" {
		t.Fatalf("SET, WAIT on the owner of slot 0 = %q, %v", got, err)
	}
	replica := c.Replicas[c.Masters[0]][0]
	killed := time.Now()
	c.Kill(c.Masters[0])
	if _, err := RedisDo(c.Masters[0], "PING"); err == nil {
		t.Fatal("PING succeeded on a killed node")
	}
	promoted, at := c.WaitPromoted(c.Masters[0], 30*time.Second)
	if promoted != replica {
		t.Fatalf("promoted %s, want %s", promoted, replica)
	}
	t.Logf("replica promoted %v after the kill", at.Sub(killed).Round(time.Millisecond))
	if got, err := RedisDo(replica, "GET", "{3560}"); err != nil || got != "v" {
		t.Fatalf("GET on the promoted replica = %q, %v", got, err)
	}
}
