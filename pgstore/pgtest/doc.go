// Package pgtest holds the tests of package pgstore that need a server: a
// real PostgreSQL cluster started by internal/testserver in a temporary
// directory on a free loopback port. The package has no API.
//
// It is a separate module so that the test tooling stays out of pgstore's
// go.mod: a user of pgstore never downloads it.
package pgtest
