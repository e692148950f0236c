package sessionctl

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/mongostore"
)

func run1(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, Env{
		Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] },
	})
	return out.String(), errb.String(), code
}

// TestErrors checks the exit code and the one-line message of every kind
// of bad invocation that needs no server.
func TestErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"frobnicate"}, ExitUsage, `unknown command "frobnicate"`},
		{[]string{"stats", "--bogus"}, ExitUsage, "flag provided but not defined: -bogus"},
		{[]string{"stats"}, ExitUsage, "no store: give --store URL or set SESSIONCTL_STORE"},
		{[]string{"stats", "--store", "ftp://u:hunter2@x"}, ExitUsage, `unknown session store "ftp://u:xxxxx@x"`},
		{[]string{"stats", "--store", "redis://h:notaport"}, ExitUsage, "bad store URL"},
		{[]string{"stats", "--store", "redis+sentinel://h1:26379"}, ExitUsage, "want redis+sentinel://MASTER@"},
		{[]string{"stats", "--store", "postgres://u:hunter2@h:1/db?sslmode=bogus"}, ExitUsage, "bad store URL"},
		{[]string{"stats", "--store", "cookie:"}, ExitUnsupported, "sessions live in the browsers' cookies"},
		{[]string{"stats", "--store", "memory:"}, ExitUnsupported, "inside the app's process"},
		{[]string{"stats", "extra", "--store", "sqlite:x.db"}, ExitUsage, "stats takes no arguments"},
		{[]string{"list", "--store", "sqlite:x.db"}, ExitUsage, "usage: sessionctl list --user ID"},
		{[]string{"revoke", "--store", "sqlite:x.db"}, ExitUsage, "usage: sessionctl revoke"},
		{[]string{"revoke", "--user", "u", "KEY"}, ExitUsage, "not both"},
		{[]string{"revoke", "--except", "K", "KEY"}, ExitUsage, "--except needs --user"},
		{[]string{"stats", "--store", "redis://127.0.0.1:1", "--timeout", "1s"}, ExitUnreachable, "open redis://127.0.0.1:1: redis: "},
		{[]string{"import", "--in", "/nonexistent/file.jsonl", "--store", "sqlite:x.db"}, ExitFailed, "import: open /nonexistent/file.jsonl"},
	} {
		stdout, stderr, code := run1(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) || strings.Count(stderr, "\n") != 1 ||
			!strings.HasPrefix(stderr, "sessionctl: ") || strings.Contains(stderr, "hunter2") || stdout != "" {
			t.Errorf("sessionctl %q: exit %d, stdout %q, stderr %q; want exit %d and one line with %q",
				tc.args, code, stdout, stderr, tc.code, tc.msg)
		}
	}
}

func TestNoCommand(t *testing.T) {
	t.Parallel()
	_, stderr, code := run1(t, nil)
	if code != ExitUsage || !strings.HasPrefix(stderr, "usage: sessionctl COMMAND") || !strings.HasSuffix(stderr, "\nsessionctl: no command given\n") {
		t.Errorf("no command: exit %d %q", code, stderr)
	}
}

func TestStoreFromEnvironment(t *testing.T) {
	t.Parallel()
	_, stderr, code := run1(t, map[string]string{"SESSIONCTL_STORE": "cookie:"}, "stats")
	if code != ExitUnsupported {
		t.Errorf("SESSIONCTL_STORE=cookie: exit %d %q", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	stdout, _, code := run1(t, nil, "help")
	if code != ExitOK || !strings.Contains(stdout, "Exit codes:") {
		t.Errorf("help: exit %d %q", code, stdout)
	}
	stdout, _, code = run1(t, nil, "list", "-h")
	if code != ExitOK || !strings.Contains(stdout, "-user ID") {
		t.Errorf("list -h: exit %d %q", code, stdout)
	}
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	h := newHistogram([]time.Duration{time.Hour, 24 * time.Hour})
	for _, d := range []time.Duration{-time.Second, 0, time.Hour - 1, time.Hour, 23 * time.Hour, 24 * time.Hour, 1000 * time.Hour} {
		h.add(d)
	}
	got := h.buckets()
	want := []Bucket{{"< 1h", 3600, 3}, {"1h - 1d", 86400, 2}, {">= 1d", 0, 2}}
	if len(got) != len(want) {
		t.Fatalf("buckets %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bucket %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestScrubPassword(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ msg, url, want string }{
		{"dial p@ss: x", "redis://u:p%40ss@h:1", "dial xxxxx: x"},
		{"bad pw123 here", "redis+cluster://:pw123@h1,h2", "bad xxxxx here"},
		{"no password", "sqlite:x.db", "no password"},
		{"user only u", "mongodb://u@h/db", "user only u"},
	} {
		if got := scrubPassword(tc.msg, tc.url); got != tc.want {
			t.Errorf("scrubPassword(%q, %q) = %q, want %q", tc.msg, tc.url, got, tc.want)
		}
	}
}

// The MongoDB store streams its records to export and creates them in
// batches for import.
var (
	_ RecordIterator = (*mongostore.Store)(nil)
	_ BatchCreator   = (*mongostore.Store)(nil)
)
