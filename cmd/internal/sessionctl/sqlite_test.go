package sessionctl

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cmd/internal/storeurl"
)

// sqliteStore returns the URL of a SQLite store holding n live sessions.
func sqliteStore(t *testing.T, n int) string {
	t.Helper()
	url := "sqlite:" + filepath.Join(t.TempDir(), "s.db")
	b, err := storeurl.Open(t.Context(), url, storeurl.Options{CleanupInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Now()
	for i := range n {
		err := b.Store.Create(t.Context(), &sessionkit.Record{
			ID: strings.Repeat(string(rune('a'+i)), 43), UserID: "u", CreatedAt: now, LastSeen: now,
			ExpiresAt: now.Add(time.Hour), AbsoluteExpiry: now.Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return url
}

// TestProgress checks that the progress counter appears on a terminal
// only.
func TestProgress(t *testing.T) {
	t.Parallel()
	url := sqliteStore(t, 3)
	for _, tty := range []bool{false, true} {
		var out, errb bytes.Buffer
		code := Main(context.Background(), []string{"stats", "--store", url}, Env{
			Stdout: &out, Stderr: &errb, Progress: tty, Getenv: func(string) string { return "" },
		})
		if code != ExitOK || !strings.Contains(out.String(), "live sessions") {
			t.Fatalf("tty=%t: exit %d, %q %q", tty, code, out.String(), errb.String())
		}
		if got := strings.Contains(errb.String(), "stats"); got != tty {
			t.Errorf("tty=%t: stderr %q", tty, errb.String())
		}
	}
}

// TestImportBadLine checks that a malformed line stops the import with
// its line number and the count of what was imported before it.
func TestImportBadLine(t *testing.T) {
	t.Parallel()
	url := sqliteStore(t, 0)
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	in := `{"key":"` + strings.Repeat("k", 43) + `","values":{},"expires_at":"` + exp + `"}` + "\n\n{\"key\": 12}\n"
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"import", "--store", url}, Env{
		Stdin: strings.NewReader(in), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
	})
	if code != ExitFailed || !strings.HasPrefix(errb.String(), "sessionctl: import: line 3: ") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
}
