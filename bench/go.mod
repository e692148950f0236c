module github.com/sessionkit/sessionkit/bench

go 1.26.0

require (
	github.com/alexedwards/scs/goredisstore v0.0.0-20250212122300-421ef1d8611c
	github.com/alexedwards/scs/v2 v2.9.0
	github.com/gorilla/sessions v1.4.0
	github.com/redis/go-redis/v9 v9.23.0
	github.com/redis/rueidis v1.0.79
	github.com/sessionkit/sessionkit v0.1.0
	github.com/sessionkit/sessionkit/redisstore v0.1.0
	github.com/sessionkit/sessionkit/rueidisstore v0.1.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/sessionkit/sessionkit/internal/testserver v0.1.0
	github.com/sessionkit/sessionkit/redislayout v0.1.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace (
	github.com/sessionkit/sessionkit => ../
	github.com/sessionkit/sessionkit/redislayout => ../redislayout
	github.com/sessionkit/sessionkit/redisstore => ../redisstore
	github.com/sessionkit/sessionkit/rueidisstore => ../rueidisstore
)

replace github.com/sessionkit/sessionkit/internal/testserver => ../internal/testserver
