// Package interop holds sessionkit's end-to-end tests against a real
// Express application (express-session with connect-redis and
// connect-mongo), and the worked example in directory example. The package
// has no API; see README.md.
//
// It is a separate module so that the test dependencies (FerretDB, the
// Node.js fixture) stay out of the modules applications import.
package interop
