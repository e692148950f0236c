module github.com/sessionkit/sessionkit/redislayout

go 1.25.0

require github.com/sessionkit/sessionkit v0.1.0
