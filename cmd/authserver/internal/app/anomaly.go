package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/binding"
	"github.com/sessionkit/sessionkit/guessing"
	"github.com/sessionkit/sessionkit/sessionotel"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The session binding policies of Options.Binding and -binding.
const (
	// BindingOff compares nothing.
	BindingOff = "off"
	// BindingAlert logs a warning when a session is used from another
	// network (IPv4 /24, IPv6 /64), browser or language.
	BindingAlert = "alert"
	// BindingDestroy ends a session used from another network or
	// browser (the request goes on signed out), and logs a language
	// change only.
	BindingDestroy = "destroy"
)

// guessingDetector returns the detector of session token guessing, or nil
// when Options.GuessThreshold turns it off.
func (a *App) guessingDetector() *guessing.Detector {
	if a.opts.GuessThreshold < 0 {
		return nil
	}
	return guessing.New(guessing.Options{
		Threshold: a.opts.GuessThreshold,
		Block:     a.opts.GuessBlock,
		Key:       a.clientKey,
		Now:       a.opts.Now,
		OnAlert: func(ctx context.Context, al guessing.Alert) {
			a.log.LogAttrs(ctx, slog.LevelWarn, "session token guessing: client blocked",
				slog.String("client", al.Client), slog.Int("forged", al.Rejected[sessionkit.RejectedForged]),
				slog.Int("unknown", al.Rejected[sessionkit.RejectedUnknown]), slog.Time("until", al.Until.UTC()))
		},
	})
}

// onEvent is Config.OnEvent: the session metrics, then the guessing
// detector.
func (a *App) onEvent() func(context.Context, sessionkit.Event) {
	if a.guess == nil {
		return a.metrics.sessions.OnEvent
	}
	return a.metrics.sessions.Chain(a.guess.OnEvent)
}

// blockGuessers turns away the clients that sent too many bad session
// cookies; it goes outside the session middleware.
func (a *App) blockGuessers(next http.Handler) http.Handler {
	if a.guess == nil {
		return next
	}
	return a.guess.Middleware(next)
}

// bindingPolicy returns the policy named by Options.Binding; nil for off.
func bindingPolicy(name string) (binding.Policy, error) {
	switch name {
	case "", BindingOff:
		return nil, nil
	case BindingAlert:
		return func(*http.Request, binding.Change) binding.Action { return binding.Alert }, nil
	case BindingDestroy:
		return func(_ *http.Request, c binding.Change) binding.Action {
			if c.IP || c.UserAgent {
				return binding.Destroy
			}
			return binding.Alert
		}, nil
	}
	return nil, fmt.Errorf("session binding %q: want %s, %s or %s", name, BindingOff, BindingAlert, BindingDestroy)
}

// bindingChecker returns the session binding check of Options.Binding.
func (a *App) bindingChecker() (*binding.Checker, error) {
	policy, err := bindingPolicy(a.opts.Binding)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return binding.New(a.sm, binding.Options{
		Policy:   policy,
		Metadata: a.metadata,
		OnChange: func(r *http.Request, c binding.Change, act binding.Action) {
			var changed []string
			for _, p := range []struct {
				on   bool
				name string
			}{{c.IP, "network"}, {c.UserAgent, "user_agent"}, {c.Language, "language"}} {
				if p.on {
					changed = append(changed, p.name)
				}
			}
			a.log.LogAttrs(r.Context(), slog.LevelWarn, "session used from a changed client",
				slog.String("user_id", a.sm.Session(r.Context()).UserID()), slog.String("changed", strings.Join(changed, ",")),
				slog.String("action", act.String()), slog.String("ip_before", c.Recorded["ip"]), slog.String("ip", c.Current["ip"]),
				slog.String("user_agent", c.Current["ua"]))
		},
	}), nil
}

// traceStore wraps the session store with an OpenTelemetry span per call,
// from Options.TracerProvider (default: the global provider, which records
// nothing until an SDK is installed, as -otel-stdout does).
func (a *App) traceStore(s sessionkit.Store) sessionkit.Store {
	return sessionotel.WrapStore(s, sessionotel.Options{TracerProvider: a.opts.TracerProvider})
}

// tracing returns the tracer provider of -otel-stdout, which writes every
// span to w as JSON, and a function that flushes and stops it; without the
// flag, a nil provider (the global one) and a no-op.
func (c *Config) tracing(w io.Writer) (trace.TracerProvider, func(), error) {
	if !c.OtelStdout {
		return nil, func() {}, nil
	}
	exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
	if err != nil {
		return nil, nil, fmt.Errorf("-otel-stdout: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	return tp, func() { _ = tp.Shutdown(context.Background()) }, nil
}

// anomalyFlags defines the flags of guessing detection, session binding
// and tracing.
func (c *Config) anomalyFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.GuessThreshold, "guess-threshold", guessing.DefaultThreshold,
		"block a client (IPv6: its -ipv6-prefix network) that sends more than this `many` unknown or forged session cookies within a minute; 0 turns detection off")
	fs.DurationVar(&c.GuessBlock, "guess-block", guessing.DefaultBlock, "how long a client blocked for guessing session cookies gets 429")
	fs.StringVar(&c.Binding, "binding", BindingOff, "session binding `policy` on a change of network (IPv4 /24, IPv6 /64), browser or language: off, alert (log a warning) or destroy (end the session on a network or browser change)")
	fs.BoolVar(&c.OtelStdout, "otel-stdout", false, "write an OpenTelemetry span for every session store call to standard output, as JSON")
}

// checkAnomalyFlags validates the flags of anomalyFlags.
func (c *Config) checkAnomalyFlags() error {
	switch {
	case c.GuessThreshold < 0:
		return fmt.Errorf("-guess-threshold %d: want 0 (off) or more", c.GuessThreshold)
	case c.GuessBlock <= 0:
		return fmt.Errorf("-guess-block %v: want a positive duration", c.GuessBlock)
	}
	if _, err := bindingPolicy(c.Binding); err != nil {
		return fmt.Errorf("-binding: %w", err)
	}
	return nil
}

// guessThreshold is Options.GuessThreshold for the -guess-threshold flag,
// whose 0 means off.
func (c *Config) guessThreshold() int {
	if c.GuessThreshold == 0 {
		return -1
	}
	return c.GuessThreshold
}
