package storeurl

import (
	"errors"
	"io/fs"
	"os"
	"strings"
)

// CreatePrivate creates the SQLite database file path, empty and with mode
// 0600, when it does not exist yet. SQLite gives the -wal and -shm files
// it makes next to a database the mode of the database file, so all three
// stay private. An existing file keeps its mode; ":memory:" and URI names
// are left to SQLite.
func CreatePrivate(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsAny(path, "?#") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
