module github.com/sessionkit/sessionkit/cmd/sessionctltest

go 1.26.0

require (
	github.com/sessionkit/sessionkit v0.1.0
	github.com/sessionkit/sessionkit/cmd v0.1.0
	github.com/sessionkit/sessionkit/internal/ferretdbtest v0.1.0
	github.com/sessionkit/sessionkit/internal/testserver v0.1.0
)

replace (
	github.com/sessionkit/sessionkit => ../..
	github.com/sessionkit/sessionkit/cmd => ..
	github.com/sessionkit/sessionkit/internal/ferretdbtest => ../../internal/ferretdbtest
	github.com/sessionkit/sessionkit/internal/testserver => ../../internal/testserver
	github.com/sessionkit/sessionkit/mongostore => ../../mongostore
	github.com/sessionkit/sessionkit/pgstore => ../../pgstore
	github.com/sessionkit/sessionkit/redisstore => ../../redisstore
	github.com/sessionkit/sessionkit/sessionprom => ../../sessionprom
	github.com/sessionkit/sessionkit/sqlitestore => ../../sqlitestore
)
