package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// redisDirs are the places besides PATH where redis binaries are looked for.
var redisDirs = []string{"/usr/bin", "/usr/local/bin", "/usr/sbin", "/opt/homebrew/bin"}

// redisTimeout bounds how long a redis process may take to start, to form a
// cluster or to see its replica.
const redisTimeout = 30 * time.Second

// Redis is a redis-server process started by StartRedis. It listens on
// 127.0.0.1 with persistence disabled and keeps its files in a temporary
// directory.
type Redis struct {
	// Addr is the "host:port" address the server listens on. It does not
	// change when the server is stopped and started again.
	Addr string

	t    testing.TB
	bin  string
	dir  string
	args []string

	mu   sync.Mutex
	proc *process
}

// StartRedis starts a standalone redis-server on a free loopback port and
// stops it when the test ends. Extra arguments are passed to redis-server
// after the defaults, so they can override them (for example
// "--maxmemory", "10mb"); a first argument that does not start with "--"
// is a configuration file, as redis-server wants. When redis-server is not
// installed, the test is skipped (or fails, see Strict).
func StartRedis(t testing.TB, args ...string) *Redis {
	t.Helper()
	bin := LookPath(t, redisDirs, "redis-server")
	r := startRedis(t, bin, "redis", args)
	t.Cleanup(r.Stop)
	return r
}

// startRedis starts a redis-server with args in a new directory under
// t.TempDir(), retrying on another port if the one chosen was taken in the
// meantime. It does not register a clean-up.
func startRedis(t testing.TB, bin, name string, args []string) *Redis {
	t.Helper()
	return startRedisFunc(t, bin, name, func() []string { return args })
}

// startRedisFunc is startRedis with arguments that args makes anew for
// each attempt, so that they can hold ports of their own.
func startRedisFunc(t testing.TB, bin, name string, args func() []string) *Redis {
	t.Helper()
	var err error
	for range 3 {
		r := &Redis{t: t, bin: bin, args: args()}
		r.dir = filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(r.dir, 0o755); err != nil {
			t.Fatalf("testserver: %v", err)
		}
		r.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
		if err = r.start(); err == nil {
			return r
		}
	}
	t.Fatalf("testserver: start redis-server: %v", err)
	return nil
}

// Start starts the server again after Stop, on the same port and with the
// same arguments. The data is not kept. It fails the test if the server
// does not come up.
func (r *Redis) Start() {
	r.t.Helper()
	if err := r.start(); err != nil {
		r.t.Fatalf("testserver: restart redis-server on %s: %v", r.Addr, err)
	}
}

func (r *Redis) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil {
		return nil
	}
	_, port, _ := net.SplitHostPort(r.Addr)
	args := []string{
		"--port", port,
		"--bind", "127.0.0.1",
		"--dir", r.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "redis.log",
	}
	extra := r.args
	if len(extra) > 0 && !strings.HasPrefix(extra[0], "--") {
		// redis-server wants a configuration file as its first argument.
		args = append([]string{extra[0]}, args...)
		extra = extra[1:]
	}
	args = append(args, extra...)
	cmd := exec.Command(r.bin, args...)
	cmd.Dir = r.dir
	setProcAttr(cmd)
	p, err := startProcess(cmd)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(redisTimeout)
	for {
		reply, err := RedisDo(r.Addr, "PING")
		if err == nil && reply == "PONG" {
			break
		}
		select {
		case <-p.done:
			return fmt.Errorf("redis-server exited: %s", r.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop(5 * time.Second)
			return fmt.Errorf("redis-server did not answer PING within %v (last error: %v): %s", redisTimeout, err, r.log())
		}
	}
	r.proc = p
	return nil
}

// Stop stops the server and waits for it to exit. Stopping a stopped
// server does nothing. Connections to Addr are refused until Start.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return
	}
	r.proc.stop(5 * time.Second)
	r.proc = nil
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it
// to exit. Killing a stopped server does nothing. Connections to Addr are
// refused until Start.
func (r *Redis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return
	}
	r.proc.kill()
	r.proc = nil
}

// Dir returns the server's working directory, which holds its log file
// (redis.log) and any configuration it writes.
func (r *Redis) Dir() string { return r.dir }

// log returns the tail of the server's log file, for error messages.
func (r *Redis) log() string {
	b, err := os.ReadFile(filepath.Join(r.dir, "redis.log"))
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// StartRedisCluster starts a Redis Cluster of three masters without
// replicas, each on a free loopback port, waits until every node reports
// cluster_state:ok and returns the masters' addresses in slot order. The
// cluster is stopped when the test ends. It needs redis-server and
// redis-cli 7.0 or later (for --cluster-port, which frees the cluster bus
// from the port+10000 rule).
func StartRedisCluster(t testing.TB) []string {
	t.Helper()
	return StartRedisClusterWith(t, RedisClusterOptions{}).Masters
}

// RedisClusterOptions configures StartRedisClusterWith.
type RedisClusterOptions struct {
	// Replicas is the number of replicas of each of the three masters
	// (none by default).
	Replicas int
	// NodeTimeout is the cluster-node-timeout: how long a node may not
	// answer before it is flagged as failing and, if it is a master with a
	// replica, replaced by it (5 s by default; Redis takes at least one
	// NodeTimeout and about one more second to promote a replica).
	NodeTimeout time.Duration
	// Args are passed to every node's redis-server after the cluster
	// settings, for example "--cluster-require-full-coverage", "no".
	Args []string
}

// RedisCluster is a Redis Cluster started by StartRedisClusterWith. Its
// nodes are stopped when the test ends.
type RedisCluster struct {
	// Masters holds the masters' addresses in slot order, as the cluster
	// was formed: the first owns slot 0.
	Masters []string
	// Replicas maps each master's address to the addresses of its
	// replicas, as the cluster was formed.
	Replicas map[string][]string

	t     testing.TB
	nodes map[string]*Redis
}

// StartRedisClusterWith starts a Redis Cluster of three masters, each with
// opts.Replicas replicas, every node on a free loopback port with its own
// temporary directory. It returns when every node reports cluster_state:ok,
// knows every other node and every replica is in sync with its master, so
// that a replica can take over at once. It needs redis-server and
// redis-cli 7.0 or later.
func StartRedisClusterWith(t testing.TB, opts RedisClusterOptions) *RedisCluster {
	t.Helper()
	bin := LookPath(t, redisDirs, "redis-server")
	cli := LookPath(t, redisDirs, "redis-cli")
	timeout := opts.NodeTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	const masters = 3
	c := &RedisCluster{t: t, nodes: make(map[string]*Redis)}
	var addrs []string
	for i := range masters * (1 + opts.Replicas) {
		r := startRedisFunc(t, bin, fmt.Sprintf("cluster%d", i), func() []string {
			return append([]string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.FormatInt(timeout.Milliseconds(), 10),
				// An explicit bus port, so that port+10000 need not be free.
				"--cluster-port", strconv.Itoa(FreePort(t)),
				// Start a replica's first sync at once, not after 5 s.
				"--repl-diskless-sync-delay", "0",
			}, opts.Args...)
		})
		t.Cleanup(r.Stop)
		addrs = append(addrs, r.Addr)
		c.nodes[r.Addr] = r
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(opts.Replicas), "--cluster-yes")
	cmd := exec.Command(cli, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testserver: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(redisTimeout)
	for _, addr := range addrs {
		for {
			state, err := clusterReady(addr, len(addrs))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("testserver: cluster node %s not ready within %v: %v\n%s", addr, redisTimeout, err, state)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The roles settle as the replicas attach; the cluster is handed out
	// once addrs[0] sees every master with its replicas, and each master
	// lists them as online: a replica that reports its link up may still be
	// loading its first copy, while online means the copy is done and the
	// replication stream flows.
	deadline = time.Now().Add(redisTimeout)
	for {
		err := c.settled(addrs[0], masters, opts.Replicas)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("testserver: cluster roles not settled within %v: %v", redisTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// settled reads the roles as the node at addr sees them into c.Masters and
// c.Replicas and returns nil when there are n masters, each with replicas
// replicas that it lists as online.
func (c *RedisCluster) settled(addr string, n, replicas int) error {
	text, err := RedisDo(addr, "CLUSTER", "NODES")
	if err != nil {
		return err
	}
	c.Masters, c.Replicas = clusterRoles(parseClusterNodes(text))
	if len(c.Masters) != n {
		return fmt.Errorf("%d masters, want %d:\n%s", len(c.Masters), n, text)
	}
	for _, m := range c.Masters {
		if len(c.Replicas[m]) != replicas {
			return fmt.Errorf("master %s has replicas %v, want %d", m, c.Replicas[m], replicas)
		}
		repl, err := RedisDo(m, "INFO", "replication")
		if err != nil {
			return err
		}
		if got := strings.Count(repl, ",state=online,"); got != replicas {
			return fmt.Errorf("master %s lists %d replicas online, want %d:\n%s", m, got, replicas, repl)
		}
	}
	return nil
}

// Kill kills the node at addr with SIGKILL, as a crash would, and waits for
// it to exit. Its address then refuses connections.
func (c *RedisCluster) Kill(addr string) {
	c.t.Helper()
	r, ok := c.nodes[addr]
	if !ok {
		c.t.Fatalf("testserver: %s is not a node of this cluster", addr)
	}
	r.Kill()
}

// WaitPromoted waits until one of the replicas that master had when the
// cluster was formed reports itself a master, as after a failover, and
// returns its address and the time it was first seen so. It polls every
// 10 ms and fails the test after timeout.
func (c *RedisCluster) WaitPromoted(master string, timeout time.Duration) (addr string, at time.Time) {
	c.t.Helper()
	replicas := c.Replicas[master]
	if len(replicas) == 0 {
		c.t.Fatalf("testserver: master %s has no replica", master)
	}
	deadline := time.Now().Add(timeout)
	for {
		for _, r := range replicas {
			role, err := RedisDo(r, "ROLE")
			if err == nil && strings.HasPrefix(role, "master\n") {
				return r, time.Now()
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("testserver: no replica of %s promoted within %v", master, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string
	flags            []string
	slots            []string
}

// parseClusterNodes parses the reply of CLUSTER NODES.
func parseClusterNodes(text string) []clusterNode {
	var nodes []clusterNode
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		// The address is ip:port@cport, optionally followed by ,hostname.
		a, _, _ := strings.Cut(f[1], "@")
		nodes = append(nodes, clusterNode{id: f[0], addr: a, master: f[3], flags: strings.Split(f[2], ","), slots: f[8:]})
	}
	return nodes
}

// clusterReady returns nil when the node at addr reports cluster_state:ok,
// knows n connected nodes none of which is failing or in a handshake, and,
// if it is a replica, is in sync with its master. Otherwise it returns why
// not and the state it saw.
func clusterReady(addr string, n int) (string, error) {
	info, err := RedisDo(addr, "CLUSTER", "INFO")
	if err != nil {
		return "", err
	}
	if !strings.Contains(info, "cluster_state:ok") {
		return info, errors.New("cluster_state is not ok")
	}
	text, err := RedisDo(addr, "CLUSTER", "NODES")
	if err != nil {
		return "", err
	}
	nodes := parseClusterNodes(text)
	if len(nodes) != n {
		return text, fmt.Errorf("knows %d nodes, want %d", len(nodes), n)
	}
	for _, node := range nodes {
		for _, f := range node.flags {
			if f == "fail" || f == "fail?" || f == "handshake" || f == "noaddr" {
				return text, fmt.Errorf("node %s is flagged %s", node.addr, f)
			}
		}
	}
	repl, err := RedisDo(addr, "INFO", "replication")
	if err != nil {
		return "", err
	}
	if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
		return repl, errors.New("replica not in sync")
	}
	return "", nil
}

// clusterRoles returns the masters' addresses in slot order and each
// master's replicas.
func clusterRoles(nodes []clusterNode) (masters []string, replicas map[string][]string) {
	byID := make(map[string]string)
	first := make(map[string]int)
	for _, n := range nodes {
		byID[n.id] = n.addr
		if slices.Contains(n.flags, "master") && len(n.slots) > 0 {
			masters = append(masters, n.addr)
			lo, _, _ := strings.Cut(n.slots[0], "-")
			first[n.addr], _ = strconv.Atoi(lo)
		}
	}
	slices.SortFunc(masters, func(a, b string) int { return first[a] - first[b] })
	replicas = make(map[string][]string)
	for _, n := range nodes {
		if slices.Contains(n.flags, "slave") {
			m := byID[n.master]
			replicas[m] = append(replicas[m], n.addr)
		}
	}
	return masters, replicas
}

// StartRedisSentinel starts a Redis master, one replica of it and one
// Sentinel that monitors them, each on a free loopback port, and waits until
// the replica is in sync and the Sentinel knows it, so that a SENTINEL
// FAILOVER can succeed. It returns the name under which the Sentinel
// monitors the master, the Sentinel's address and the data nodes' addresses
// (the master first, then the replica). Everything is stopped when the test
// ends.
//
// The Sentinel is tuned for tests: it declares a node down after one second
// and fails over with a quorum of one.
func StartRedisSentinel(t testing.TB) (masterName string, sentinelAddrs, nodeAddrs []string) {
	t.Helper()
	bin := LookPath(t, redisDirs, "redis-server")
	masterName = "sessionkit"
	master := startRedis(t, bin, "master", nil)
	t.Cleanup(master.Stop)
	replica := startRedis(t, bin, "replica", []string{"--replicaof", "127.0.0.1", port(master.Addr)})
	t.Cleanup(replica.Stop)

	// Sentinel rewrites its configuration file, so it must be a real file.
	dir := filepath.Join(t.TempDir(), "sentinel")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf(`sentinel monitor %[1]s 127.0.0.1 %[2]s 1
sentinel down-after-milliseconds %[1]s 1000
sentinel failover-timeout %[1]s 10000
sentinel parallel-syncs %[1]s 1
`, masterName, port(master.Addr))
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	sentinel := startRedis(t, bin, "sentinel-run", []string{conf, "--sentinel"})
	t.Cleanup(sentinel.Stop)

	deadline := time.Now().Add(redisTimeout)
	for {
		ok, state := sentinelReady(sentinel.Addr, masterName, replica.Addr)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("testserver: sentinel not ready within %v: %s", redisTimeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return masterName, []string{sentinel.Addr}, []string{master.Addr, replica.Addr}
}

// sentinelReady reports whether the replica is in sync with its master and
// the sentinel lists it as a healthy replica. The string describes the state
// when it is not ready.
func sentinelReady(sentinelAddr, masterName, replicaAddr string) (bool, string) {
	info, err := RedisDo(replicaAddr, "INFO", "replication")
	if err != nil {
		return false, err.Error()
	}
	if !strings.Contains(info, "master_link_status:up") {
		return false, "replica: " + info
	}
	reply, err := redisDo(sentinelAddr, "SENTINEL", "REPLICAS", masterName)
	if err != nil {
		return false, err.Error()
	}
	replicas, _ := reply.([]any)
	for _, r := range replicas {
		fields, _ := r.([]any)
		m := make(map[string]string)
		for i := 0; i+1 < len(fields); i += 2 {
			k, _ := fields[i].(string)
			v, _ := fields[i+1].(string)
			m[k] = v
		}
		if net.JoinHostPort(m["ip"], m["port"]) == replicaAddr &&
			m["flags"] == "slave" && m["master-link-status"] == "ok" {
			return true, ""
		}
	}
	return false, fmt.Sprintf("sentinel replicas: %v", replicas)
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// RedisDo sends one command to the Redis server at addr on a new connection
// and returns its reply as a string. Integers are formatted in decimal and
// arrays are flattened with newlines. A Redis error reply is returned as an
// error. It is meant for setting up and inspecting test servers, not for
// speed.
func RedisDo(addr string, args ...string) (string, error) {
	reply, err := redisDo(addr, args...)
	if err != nil {
		return "", err
	}
	return flatten(reply), nil
}

func flatten(v any) string {
	switch v := v.(type) {
	case []any:
		s := make([]string, len(v))
		for i, e := range v {
			s[i] = flatten(e)
		}
		return strings.Join(s, "\n")
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// RedisDoAll sends the commands one after the other on one connection, as
// a client that needs them on the same connection does (WAIT counts the
// replicas that acknowledged that connection's writes), and returns their
// replies flattened as RedisDo does. It stops at the first error.
func RedisDoAll(addr string, cmds ...[]string) ([]string, error) {
	replies, err := redisDoAll(addr, cmds...)
	out := make([]string, len(replies))
	for i, r := range replies {
		out[i] = flatten(r)
	}
	return out, err
}

// redisDo sends one command and returns the decoded reply: a string, an
// int64, nil or a []any.
func redisDo(addr string, args ...string) (any, error) {
	replies, err := redisDoAll(addr, args)
	if err != nil {
		return nil, err
	}
	return replies[0], nil
}

// redisDoAll sends cmds on one connection and returns the decoded replies
// up to the first error.
func redisDoAll(addr string, cmds ...[]string) ([]any, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	var replies []any
	for _, args := range cmds {
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := conn.Write([]byte(b.String())); err != nil {
			return replies, err
		}
		reply, err := readReply(r)
		if err != nil {
			return replies, err
		}
		replies = append(replies, reply)
	}
	return replies, nil
}

// readReply reads one RESP2 reply.
func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("testserver: empty reply line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		a := make([]any, n)
		for i := range a {
			if a[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return a, nil
	}
	return nil, fmt.Errorf("testserver: unexpected reply %q", line)
}

// WaitReplicated waits until every replica of the master at addr has
// acknowledged all of the master's writes so far, whichever connection made
// them, and fails the test after redisTimeout.
func WaitReplicated(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(redisTimeout)
	for {
		repl, err := RedisDo(addr, "INFO", "replication")
		if err == nil && replicated(repl) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testserver: replicas of %s not caught up within %v: %v\n%s", addr, redisTimeout, err, repl)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// replicated reports whether the INFO replication text of a master shows
// at least one replica and every replica online at the master's offset.
func replicated(info string) bool {
	var offset string
	var replicas []string
	for line := range strings.Lines(info) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			offset = v
		}
		if strings.HasPrefix(line, "slave") && strings.Contains(line, ":ip=") {
			replicas = append(replicas, line)
		}
	}
	if offset == "" || len(replicas) == 0 {
		return false
	}
	for _, r := range replicas {
		if !strings.Contains(r, ",state=online,") || !strings.Contains(r, ",offset="+offset+",") {
			return false
		}
	}
	return true
}
