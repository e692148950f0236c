package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain lets the test binary act as sessionctl when SESSIONCTL_AS_MAIN
// is set, so that TestBinary sees what a shell would.
func TestMain(m *testing.M) {
	if os.Getenv("SESSIONCTL_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestBinary checks the process's exit code and its one-line error for a
// bad URL and an unreachable store.
func TestBinary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"stats", "--store", "nosuch://x"}, 2},
		{[]string{"stats", "--store", "redis://:pw@127.0.0.1:1", "--timeout", "1s"}, 3},
		{[]string{"export", "--store", "postgres://127.0.0.1:1/db?sslmode=disable", "--timeout", "1s"}, 3},
	} {
		cmd := exec.Command(os.Args[0], tc.args...)
		cmd.Env = append(os.Environ(), "SESSIONCTL_AS_MAIN=1", "SESSIONCTL_STORE=")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
			t.Errorf("sessionctl %q: %v, want exit status %d", tc.args, err, tc.code)
		}
		if s := stderr.String(); strings.Count(s, "\n") != 1 || !strings.HasPrefix(s, "sessionctl: ") || strings.Contains(s, "goroutine") {
			t.Errorf("sessionctl %q: stderr %q, want one line", tc.args, s)
		}
		if stdout.Len() != 0 {
			t.Errorf("sessionctl %q: stdout %q", tc.args, stdout.String())
		}
	}
}
