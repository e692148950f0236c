// Package mongotest holds the tests of package mongostore that need a
// server. They run against FerretDB (see internal/ferretdbtest), embedded in
// the test binary, not against MongoDB. The package has no API.
//
// It is a separate module so that FerretDB and its many dependencies stay
// out of mongostore's go.mod.
package mongotest
