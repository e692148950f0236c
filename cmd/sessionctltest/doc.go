// Package sessionctltest tests the sessionctl command against real
// redis-server (standalone and Cluster), PostgreSQL, SQLite and FerretDB
// stores. It is a test-only module so that the servers' test tooling stays
// out of the published cmd module.
package sessionctltest
