module github.com/sessionkit/sessionkit/rueidisstore

go 1.25.0

require (
	github.com/redis/rueidis v1.0.79
	github.com/sessionkit/sessionkit v0.1.0
	github.com/sessionkit/sessionkit/redislayout v0.1.0
)

require golang.org/x/sys v0.47.0 // indirect
