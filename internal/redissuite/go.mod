module github.com/sessionkit/sessionkit/internal/redissuite

go 1.25.0

require (
	github.com/sessionkit/sessionkit v0.1.0
	github.com/sessionkit/sessionkit/internal/testserver v0.1.0
	github.com/sessionkit/sessionkit/redislayout v0.1.0
)

replace (
	github.com/sessionkit/sessionkit => ../..
	github.com/sessionkit/sessionkit/internal/testserver => ../testserver
	github.com/sessionkit/sessionkit/redislayout => ../../redislayout
)
