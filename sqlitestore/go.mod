module github.com/sessionkit/sessionkit/sqlitestore

go 1.25

require github.com/sessionkit/sessionkit v0.0.0

replace github.com/sessionkit/sessionkit => ../
