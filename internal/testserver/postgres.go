package testserver

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// postgresDirs are the places besides PATH where PostgreSQL binaries are
// looked for: Debian's and Ubuntu's postgresql packages install them under
// /usr/lib/postgresql/VERSION/bin, which is not in PATH.
var postgresDirs = []string{
	"/usr/lib/postgresql/18/bin",
	"/usr/lib/postgresql/17/bin",
	"/usr/lib/postgresql/16/bin",
	"/usr/lib/postgresql/15/bin",
	"/usr/lib/postgresql/14/bin",
	"/usr/local/bin",
	"/usr/bin",
	"/opt/homebrew/bin",
}

// postgresTimeout bounds how long initdb may take and how long the server
// may take to start or stop.
const postgresTimeout = 60 * time.Second

// Postgres is a PostgreSQL server started by StartPostgres. It listens on
// 127.0.0.1 only, trusts every local connection (no password) and keeps its
// data in a directory under t.TempDir(). It is tuned for tests: fsync and
// synchronous commit are off, so a crash of the machine loses data.
//
// When the test runs as root, initdb and postgres run as the "postgres"
// system user, since PostgreSQL refuses to run as root.
type Postgres struct {
	// DSN is a connection URL for the "postgres" superuser and database,
	// such as "postgres://postgres@127.0.0.1:5433/postgres?sslmode=disable".
	// It does not change when the server is stopped and started again.
	DSN string
	// Port is the TCP port the server listens on.
	Port int

	t       testing.TB
	bin     string // directory holding the binaries
	dir     string // base directory, owned by the server's user
	dataDir string
	sockDir string
	cred    *credential
	// startArgs are the extra postgres arguments given to StartPostgres.
	startArgs []string

	mu   sync.Mutex
	proc *process
}

// credential is the user that initdb and postgres run as, or nil for the
// current user.
type credential struct {
	uid, gid uint32
}

// StartPostgres initialises a new database cluster with initdb, starts
// postgres on a free loopback port and stops it when the test ends (the data
// directory is removed with t.TempDir). Extra arguments are passed to
// postgres after the defaults, so they can override them (for example
// "-c", "max_connections=20").
//
// The first call on a machine runs initdb, which takes a few seconds, and
// keeps a copy of the new cluster in the user's cache directory
// (sessionkit-testserver/ under os.UserCacheDir), one per PostgreSQL
// installation; later calls, in any process, copy it instead, which takes
// a fraction of a second. Delete that directory to start afresh. Tests that
// need many databases can also share one server and call CreateDatabase.
//
// When the PostgreSQL binaries are not installed, the test is skipped (or
// fails, see Strict).
func StartPostgres(t testing.TB, args ...string) *Postgres {
	t.Helper()
	initdb := LookPath(t, postgresDirs, "initdb")
	// Find the real directory: a symlink in PATH (/usr/local/bin/initdb)
	// may point to /usr/lib/postgresql/VERSION/bin, which holds the rest.
	if real, err := filepath.EvalSymlinks(initdb); err == nil {
		initdb = real
	}
	bin := filepath.Dir(initdb)
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err != nil {
		Unavailable(t, "postgres is not installed next to %s", initdb)
	}
	cred, err := postgresUser()
	if err != nil {
		Unavailable(t, "%v", err)
	}
	p := &Postgres{t: t, bin: bin, cred: cred}
	p.dir = t.TempDir()
	if err := p.prepareDirs(); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	if err := p.initCluster(); err != nil {
		t.Fatalf("testserver: %v", err)
	}
	for range 3 {
		p.Port = FreePort(t)
		if err = p.start(args); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("testserver: start postgres: %v", err)
	}
	p.DSN = (&url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)),
		Path:     "/postgres",
		RawQuery: "sslmode=disable",
	}).String()
	p.startArgs = args
	t.Cleanup(p.Stop)
	return p
}

// prepareDirs makes the base directory usable by the server's user, and
// chooses a socket directory short enough for a Unix socket path.
func (p *Postgres) prepareDirs() error {
	p.dataDir = filepath.Join(p.dir, "data")
	p.sockDir = p.dir
	// A Unix socket path is limited to about 107 bytes, and t.TempDir()
	// paths can be long.
	if len(filepath.Join(p.sockDir, ".s.PGSQL.65535.lock")) > 100 {
		d, err := os.MkdirTemp("", "pgsock")
		if err != nil {
			return err
		}
		p.t.Cleanup(func() { os.RemoveAll(d) })
		p.sockDir = d
	}
	if p.cred == nil {
		return nil
	}
	// t.TempDir() creates a private (0700) parent directory; the server's
	// user needs to pass through it.
	if err := os.Chmod(filepath.Dir(p.dir), 0o711); err != nil {
		return err
	}
	for _, d := range []string{p.dir, p.sockDir} {
		if err := os.Chown(d, int(p.cred.uid), int(p.cred.gid)); err != nil {
			return err
		}
	}
	return nil
}

// command returns a command that runs the named PostgreSQL binary as the
// server's user, with PG* variables removed from its environment so that
// the caller's settings cannot leak in.
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LC_ALL=C")
	setPostgresProcAttr(cmd, p.cred)
	return cmd
}

// initCluster fills the data directory with a new cluster: a copy of the
// cached template when there is one, else the output of initdb, which is
// then cached.
func (p *Postgres) initCluster() error {
	cache := postgresTemplateDir(p.bin)
	if cache != "" {
		if _, err := os.Stat(filepath.Join(cache, templateMarker)); err == nil {
			if err := copyTree(cache, p.dataDir, p.cred); err == nil {
				return nil
			}
			os.RemoveAll(p.dataDir) // fall back to initdb
		}
	}
	if err := p.initdb(); err != nil {
		return err
	}
	if cache != "" {
		saveTemplate(p.dataDir, cache) // best effort
	}
	return nil
}

// templateMarker is the file that marks a complete cached cluster.
const templateMarker = "sessionkit-template-complete"

// postgresTemplateDir returns where the cluster template for the binaries
// in bin is cached, or "" when there is no cache directory.
func postgresTemplateDir(bin string) string {
	root, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(bin))
	return filepath.Join(root, "sessionkit-testserver", "postgres-"+hex.EncodeToString(sum[:6]))
}

// saveTemplate copies a freshly initialised data directory to the cache,
// atomically: into a temporary directory first, then renamed into place,
// so that concurrent test processes never see half a template.
func saveTemplate(dataDir, cache string) {
	if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
		return
	}
	tmp, err := os.MkdirTemp(filepath.Dir(cache), "tmp-")
	if err != nil {
		return
	}
	defer os.RemoveAll(tmp) // after a successful rename, a no-op
	dst := filepath.Join(tmp, "data")
	if err := copyTree(dataDir, dst, nil); err != nil {
		return
	}
	if err := os.WriteFile(filepath.Join(dst, templateMarker), nil, 0o600); err != nil {
		return
	}
	if _, err := os.Stat(filepath.Join(cache, templateMarker)); err == nil {
		return // another process was faster
	}
	os.RemoveAll(cache) // an incomplete template, left by a crash
	os.Rename(dst, cache)
}

// copyTree copies the directory src, which holds only directories and
// regular files, to dst, keeping permissions, and gives the copy to cred
// when it is not nil. The template marker is not copied.
func copyTree(src, dst string, cred *credential) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == templateMarker {
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("copy %s: not a regular file or directory", path)
		}
		if cred != nil {
			return os.Lchown(target, int(cred.uid), int(cred.gid))
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (p *Postgres) initdb() error {
	cmd := p.command("initdb",
		"--pgdata", p.dataDir,
		"--username", "postgres",
		"--auth", "trust",
		"--encoding", "UTF8",
		"--locale", "C",
		"--no-sync",
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("initdb: %w\n%s", err, out.String())
		}
		return nil
	case <-time.After(postgresTimeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("initdb did not finish within %v\n%s", postgresTimeout, out.String())
	}
}

// Start starts the server again after Stop, on the same port and with the
// same data, so that tests can check how clients survive a restart. It
// fails the test if the server does not come up.
func (p *Postgres) Start() {
	p.t.Helper()
	if err := p.start(p.startArgs); err != nil {
		p.t.Fatalf("testserver: restart postgres on port %d: %v", p.Port, err)
	}
}

func (p *Postgres) start(extra []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil {
		return nil
	}
	args := []string{
		"-D", p.dataDir,
		"-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + p.sockDir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "log_destination=stderr",
		"-c", "logging_collector=off",
	}
	args = append(args, extra...)
	logFile, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := p.command("postgres", args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	proc, err := startProcess(cmd)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(postgresTimeout)
	for !p.ready() {
		select {
		case <-proc.done:
			return fmt.Errorf("postgres exited: %s", p.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			proc.stop(postgresTimeout)
			return fmt.Errorf("postgres not ready within %v: %s", postgresTimeout, p.log())
		}
	}
	p.proc = proc
	return nil
}

// ready reports whether the server has finished starting up and accepts
// connections on its port: postgres writes "ready" on the eighth line of
// postmaster.pid once it does (this is what pg_ctl -w waits for).
func (p *Postgres) ready() bool {
	f, err := os.Open(filepath.Join(p.dataDir, "postmaster.pid"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for i := 1; s.Scan(); i++ {
		if i == 8 {
			if strings.TrimSpace(s.Text()) != "ready" {
				return false
			}
			c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)), time.Second)
			if err != nil {
				return false
			}
			c.Close()
			return true
		}
	}
	return false
}

// Stop stops the server (a fast shutdown: open connections are closed) and
// waits for it to exit. Stopping a stopped server does nothing. Connections
// to the port are refused until Start.
func (p *Postgres) Stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return
	}
	p.proc.stop(postgresTimeout) // SIGINT: a fast shutdown
	p.proc = nil
}

// CreateDatabase creates a new database owned by the postgres user and
// returns a DSN for it, like DSN but naming the new database. name must be
// a plain identifier (letters, digits, underscores). It uses the createdb
// binary that comes with the server.
func (p *Postgres) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			t.Fatalf("testserver: CreateDatabase: invalid database name %q", name)
		}
	}
	cmd := p.command("createdb",
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(p.Port),
		"--username", "postgres",
		name,
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testserver: createdb %s: %v\n%s", name, err, out)
	}
	u, err := url.Parse(p.DSN)
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// DataDir returns the server's data directory.
func (p *Postgres) DataDir() string { return p.dataDir }

func (p *Postgres) logPath() string { return filepath.Join(p.dir, "postgres.log") }

// log returns the tail of the server's log, for error messages.
func (p *Postgres) log() string {
	b, err := os.ReadFile(p.logPath())
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// errNoPostgresUser is returned by postgresUser when the tests run as root
// and there is no postgres user to run the server as.
var errNoPostgresUser = errors.New(`running as root and there is no "postgres" user to run PostgreSQL as (postgres refuses to run as root)`)
