// Command sessionctl inspects and manages the sessions of a sessionkit
// store: statistics, a user's sessions, revocation, purging expired
// records, and export/import in JSON Lines for moving sessions between
// stores. It opens stores by the same URLs as cmd/authserver. See
// README.md for the commands, their output and the exit codes.
package main

import (
	"context"
	"os"
	"os/signal"

	"golang.org/x/term"

	"github.com/sessionkit/sessionkit/cmd/internal/sessionctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := sessionctl.Main(ctx, os.Args[1:], sessionctl.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Progress: term.IsTerminal(int(os.Stderr.Fd())),
	})
	stop()
	os.Exit(code)
}
