package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestSQLiteFilesPrivate checks the zero-setup data directory: the
// directory is 0700, and the SQLite databases with their -wal and -shm
// files are 0600 like the secrets, whatever the umask lets through.
func TestSQLiteFilesPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	c, err := ParseFlags([]string{"-data", dir}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, _, closeStores, err := open(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStores()
	want := map[string]os.FileMode{".": 0o700, "session-secret": 0o600}
	for _, db := range []string{"users.db", "sessions.db"} {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			want[db+suffix] = 0o600
		}
	}
	for name, mode := range want {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), mode)
		}
	}
}
