// Command authserver is the sessionkit reference login app: register, sign
// in with remember-me, sign out, review and revoke your devices, change your
// password. Run it with no flags for a zero-setup server on
// http://localhost:3000; run it with -h for every option.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/app"
)

func main() {
	cfg, err := app.ParseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "authserver:", err)
		os.Exit(2)
	}
	level := slog.LevelInfo
	if cfg.Debug {
		level = slog.LevelDebug
	}
	log := slog.New(app.NewLogHandler(os.Stderr, cfg.LogJSON, level))
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, cfg, log, nil); err != nil {
		log.Error("authserver stopped", "error", err.Error())
		os.Exit(1)
	}
}
