// Package redistest holds the tests of package redisstore that need a
// server: real redis-server processes (standalone, Cluster, Sentinel)
// started by internal/testserver on free loopback ports. The package has no
// API.
//
// It is a separate module so that the test tooling stays out of redisstore's
// go.mod: a user of redisstore never downloads it.
package redistest
