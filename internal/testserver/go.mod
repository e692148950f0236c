module github.com/sessionkit/sessionkit/internal/testserver

go 1.25.0
