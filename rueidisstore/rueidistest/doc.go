// Package rueidistest holds the tests of rueidisstore that need Redis
// servers (standalone, Cluster with and without replicas, Sentinel), which
// internal/testserver starts, and the tests that run rueidisstore and
// redisstore side by side on the same data. It is a module of its own so
// that the published rueidisstore module depends on neither the test
// servers nor go-redis.
package rueidistest
