// Package sessionctl implements the sessionctl command: statistics,
// listing, revocation, purging and export/import of the sessions in any
// store that package storeurl opens. The command's main function calls
// Main; tests call it in-process.
package sessionctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/cmd/internal/storeurl"
)

// Exit codes of the command (see cmd/sessionctl/README.md).
const (
	ExitOK          = 0 // success
	ExitFailed      = 1 // the operation failed part-way (a store error, bad input data)
	ExitUsage       = 2 // bad command line or store URL
	ExitUnreachable = 3 // the store could not be opened or reached
	ExitNotFound    = 4 // revoke KEY: no session has that key
	ExitUnsupported = 5 // the store lacks what the command needs
)

// Env is the process environment Main runs in.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads environment variables (SESSIONCTL_STORE). Nil means
	// os.Getenv.
	Getenv func(string) string
	// Progress reports whether Stderr is a terminal, so that long
	// operations draw a progress bar there.
	Progress bool
}

// exitError carries an exit code with a one-line message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

const usage = `usage: sessionctl COMMAND [flags] [args]

Commands:
  stats                        live sessions, persistent vs browser, top users, age and idle histograms
  list --user ID               a user's sessions with their metadata (never tokens)
  revoke --user ID [--except KEY]...
  revoke KEY...                end sessions
  purge                        delete expired records now
  export [--out FILE]          write every session as JSON Lines
  import [--in FILE]           create the sessions read from JSON Lines

Every command takes:
  --store URL     the session store (default $SESSIONCTL_STORE): sqlite:PATH, redis://,
                  rediss://, redis+cluster://h1,h2, redis+sentinel://master@h1,h2,
                  postgres://, mongodb://
  --redis-prefix  key prefix of Redis stores (default "authserver:", the app's)
  --timeout       how long to wait for the store to answer when opening it (default 10s)
  --json          machine-readable output

Exit codes: 0 ok, 1 failed, 2 usage or bad URL, 3 store unreachable,
4 revoke KEY: not found, 5 not supported by this store.
`

// commands maps a command name to its implementation.
var commands = map[string]func(ctx context.Context, c *cmd) error{
	"stats":  runStats,
	"list":   runList,
	"revoke": runRevoke,
	"purge":  runPurge,
	"export": runExport,
	"import": runImport,
}

// cmd is one invocation: the parsed common flags and the opened store.
type cmd struct {
	env     Env
	fs      *flag.FlagSet
	raw     []string // the arguments after the command name
	args    []string // positional arguments
	json    bool
	url     string
	prefix  string
	timeout time.Duration
	backend *storeurl.Backend
}

// Main runs sessionctl with args (without the program name) and returns
// the exit code. Errors are printed to env.Stderr as one line.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	redis.SetLogger(quietRedis{}) // its pool logs retries on stderr; the error says it all
	err := run(ctx, args, env)
	if err == nil {
		return ExitOK
	}
	code := ExitFailed
	var e *exitError
	if errors.As(err, &e) {
		code = e.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	msg := strings.Join(strings.Fields(err.Error()), " ") // one line, whatever the store said
	fmt.Fprintf(env.Stderr, "sessionctl: %s\n", msg)
	return code
}

func run(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := env.Stderr
		if len(args) > 0 {
			w = env.Stdout
		}
		fmt.Fprint(w, usage)
		if len(args) == 0 {
			return exitf(ExitUsage, "no command given")
		}
		return nil
	}
	name := args[0]
	impl, ok := commands[name]
	if !ok {
		return exitf(ExitUsage, "unknown command %q (want stats, list, revoke, purge, export or import)", name)
	}
	c := &cmd{env: env, raw: args[1:], fs: flag.NewFlagSet("sessionctl "+name, flag.ContinueOnError)}
	c.fs.SetOutput(io.Discard) // a bad flag is one line on stderr; -h prints the defaults
	c.fs.StringVar(&c.url, "store", env.Getenv("SESSIONCTL_STORE"), "session store URL (default $SESSIONCTL_STORE)")
	c.fs.StringVar(&c.prefix, "redis-prefix", storeurl.DefaultRedisPrefix, "key prefix of Redis stores")
	c.fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long opening the store may take")
	c.fs.BoolVar(&c.json, "json", false, "machine-readable output")
	return impl(ctx, c)
}

// parse parses the command's flags, which may come before, between or
// after its positional arguments.
func (c *cmd) parse() error {
	args := c.raw
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(c.env.Stdout, "usage of %s:\n", c.fs.Name())
				c.fs.SetOutput(c.env.Stdout)
				c.fs.PrintDefaults()
				return err
			}
			return exitf(ExitUsage, "%v (see %s -h)", err, c.fs.Name())
		}
		args = c.fs.Args()
		if len(args) == 0 {
			return nil
		}
		c.args = append(c.args, args[0])
		args = args[1:]
	}
}

// writeJSON writes v as one line of JSON to Stdout.
func (c *cmd) writeJSON(v any) error {
	return json.NewEncoder(c.env.Stdout).Encode(v)
}

// open opens the store named by --store.
func (c *cmd) open(ctx context.Context) (sessionkit.Store, error) {
	if c.url == "" {
		return nil, exitf(ExitUsage, "no store: give --store URL or set SESSIONCTL_STORE")
	}
	scheme, _, _ := strings.Cut(c.url, ":")
	if why, ok := serverless[strings.ToLower(scheme)]; ok {
		return nil, exitf(ExitUnsupported, "%s: %s; there is nothing to manage", scheme, why)
	}
	openCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	b, err := storeurl.Open(openCtx, c.url, storeurl.Options{
		RedisPrefix:     c.prefix,
		CleanupInterval: -1,       // the operator decides when to purge
		MaxConns:        parallel, // export and import keep that many calls in flight
	})
	if err != nil {
		code := ExitUnreachable
		if errors.Is(err, storeurl.ErrBadURL) {
			code = ExitUsage
		}
		return nil, exitf(code, "open %s: %s", storeurl.Redact(c.url), scrubPassword(err.Error(), c.url))
	}
	c.backend = b
	return b.Store, nil
}

// serverless names the store URLs that keep no sessions sessionctl could
// reach, and why.
var serverless = map[string]string{
	"cookie": "sessions live in the browsers' cookies",
	"memory": "sessions live inside the app's process",
}

// quietRedis discards go-redis's internal log.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// close releases the store, if open.
func (c *cmd) close() {
	if c.backend != nil {
		c.backend.Close()
	}
}

// storeError classifies an error of a store call made by a command.
func storeError(op string, err error) error {
	if errors.Is(err, sessionkit.ErrUnavailable) {
		return exitf(ExitUnreachable, "%s: %v", op, err)
	}
	return exitf(ExitFailed, "%s: %v", op, err)
}

// iterator returns the store's Iterator or an ExitUnsupported error.
func (c *cmd) iterator(s sessionkit.Store, command string) (sessionkit.Iterator, error) {
	it, ok := s.(sessionkit.Iterator)
	if !ok {
		return nil, exitf(ExitUnsupported, "%s: the %s store cannot list all its sessions (no Iterate method)", command, c.backend.Kind)
	}
	return it, nil
}

// userIndex returns the store's UserIndex or an ExitUnsupported error.
func (c *cmd) userIndex(s sessionkit.Store, command string) (sessionkit.UserIndex, error) {
	ui, ok := s.(sessionkit.UserIndex)
	if !ok {
		return nil, exitf(ExitUnsupported, "%s: the %s store has no per-user index", command, c.backend.Kind)
	}
	return ui, nil
}

// pageSize is how many sessions one Iterate call asks for.
const pageSize = 1000

// each calls fn for every session of the store, page by page, and counts
// them on the progress bar.
func (c *cmd) each(ctx context.Context, it sessionkit.Iterator, label string, fn func([]sessionkit.SessionInfo) error) error {
	bar := c.progress(label)
	defer bar.done()
	cursor := ""
	for {
		page, next, err := it.Iterate(ctx, cursor, pageSize)
		if err != nil {
			return storeError("iterate", err)
		}
		if err := fn(page); err != nil {
			return err
		}
		bar.add(len(page))
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// eachRecord calls fn for every record that ri yields, and counts them on
// the progress bar.
func (c *cmd) eachRecord(ctx context.Context, ri RecordIterator, label string, fn func(*sessionkit.Record) error) error {
	bar := c.progress(label)
	defer bar.done()
	var ferr error
	err := ri.IterateRecords(ctx, func(r *sessionkit.Record) bool {
		if ferr = fn(r); ferr != nil {
			return false
		}
		bar.add(1)
		return true
	})
	if ferr != nil {
		return ferr
	}
	if err != nil {
		return storeError(label, err)
	}
	return nil
}

// scrubPassword replaces the password of rawURL wherever a driver's error
// message repeats it.
func scrubPassword(msg, rawURL string) string {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return msg
	}
	authority, _, _ := strings.Cut(rest, "/")
	i := strings.LastIndex(authority, "@")
	if i < 0 {
		return msg
	}
	_, pass, ok := strings.Cut(authority[:i], ":")
	if !ok || pass == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, pass, "xxxxx")
	if p, err := url.PathUnescape(pass); err == nil && p != "" {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return msg
}
