// Package ferretdbtest runs FerretDB, a server that speaks the MongoDB wire
// protocol, inside the test process, for tests of code that talks to
// MongoDB.
//
// MongoDB itself cannot be installed everywhere the tests run; FerretDB can,
// because it is a Go module. The server is FerretDB v1 with its SQLite
// back end (Start) or its PostgreSQL back end (StartPostgreSQL), which
// implement the common commands (insert, find, update with $set and $unset,
// findAndModify, delete, count, ordinary and unique indexes) but not TTL
// indexes, transactions or change streams. Both back ends find a document
// by _id with a sequential scan of the collection; the PostgreSQL one scans
// binary jsonb and is several times faster for tests with many documents.
//
// FerretDB pulls in many modules, so it lives in this separate module and
// never in the go.mod of a package that applications import.
package ferretdbtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Server is a FerretDB instance listening on a loopback port and keeping its
// data in a temporary directory.
type Server struct {
	t     testing.TB
	dir   string
	pgURL string // the PostgreSQL back end's database, or "" for SQLite

	mu     sync.Mutex
	addr   string // host:port, fixed after the first start
	cancel context.CancelFunc
	done   chan struct{}
}

// Start starts a FerretDB server on a free port of 127.0.0.1 with an empty
// data directory, and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), addr: "127.0.0.1:0"}
	if err := s.start(); err != nil {
		t.Fatalf("ferretdbtest: start: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartPostgreSQL is Start with FerretDB's PostgreSQL back end, which keeps
// the data in the PostgreSQL database that url names (such as the DSN of
// testserver.StartPostgres). Its lookups by _id scan the collection too,
// but several times faster than the SQLite back end's, which parse every
// document's JSON text.
func StartPostgreSQL(t testing.TB, url string) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), addr: "127.0.0.1:0", pgURL: url}
	if err := s.start(); err != nil {
		t.Fatalf("ferretdbtest: start: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// URI returns the server's connection string, such as
// "mongodb://127.0.0.1:40123/". It does not change across Stop and Restart.
func (s *Server) URI() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return (&url.URL{Scheme: "mongodb", Host: s.addr, Path: "/"}).String()
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Dir returns the server's data directory.
func (s *Server) Dir() string { return s.dir }

// Stop stops the server: it stops listening, closes every client connection
// and returns when the data files are closed. Clients see a server that has
// gone away. FerretDB gives open connections up to three seconds to finish,
// so Stop may take that long. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// Restart stops the server if it runs and starts a new one on the same port
// with the same data directory, as if the server process had been restarted.
// Clients connected before keep working once they reconnect. Like
// t.Fatal, Restart must be called from the goroutine running the test.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("ferretdbtest: restart: %v", err)
	}
}

// newMu serializes calls to ferretdb.New.
var newMu sync.Mutex

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// ferretdb.New writes package state (FerretDB v1.24.2), so servers
	// that start at the same time in one test binary take turns.
	newMu.Lock()
	defer newMu.Unlock()
	conf := &ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: s.addr},
		Logger:    slog.New(slog.DiscardHandler),
		Handler:   "sqlite",
		SQLiteURL: "file:" + s.dir + "/",
	}
	if s.pgURL != "" {
		conf.Handler, conf.SQLiteURL, conf.PostgreSQLURL = "postgresql", "", s.pgURL
	}
	f, err := ferretdb.New(conf)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	u, err := url.Parse(f.MongoDBURI())
	if err != nil {
		cancel()
		<-done
		return fmt.Errorf("parse FerretDB URI: %v", err)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		cancel()
		<-done
		return fmt.Errorf("FerretDB URI %q: %v", u, err)
	}
	s.addr, s.cancel, s.done = u.Host, cancel, done
	return nil
}
