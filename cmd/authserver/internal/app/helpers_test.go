package app

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
	"github.com/sessionkit/sessionkit/memstore"
)

// env is one app instance behind an httptest server.
type env struct {
	t    *testing.T
	app  *App
	srv  *httptest.Server
	logs *syncBuffer
}

// syncBuffer collects logs from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// envOptions tweak an env before it starts.
type envOptions struct {
	opts  Options
	plain bool // serve plain HTTP instead of TLS
}

// newEnv starts an app over TLS with a memory session store and an
// in-memory SQLite user store, unless opts say otherwise.
func newEnv(t *testing.T, tweak ...func(*envOptions)) *env {
	t.Helper()
	eo := &envOptions{}
	for _, f := range tweak {
		f(eo)
	}
	logs := &syncBuffer{}
	o := eo.opts
	if o.Store == nil && o.ClientStore == nil {
		s := memstore.New(memstore.Options{})
		t.Cleanup(func() { s.Close() })
		o.Store = s
	}
	if o.Users == nil {
		u, err := OpenSQLiteUsers(context.Background(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u.Close() })
		o.Users = u
	}
	if o.Secrets == nil {
		o.Secrets = [][]byte{[]byte("test-secret-0123456789abcdefghijklmnopqrstuvwxyz")}
	}
	if o.Logger == nil {
		o.Logger = slog.New(NewLogHandler(logs, false, slog.LevelDebug))
	}
	a, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	if eo.plain {
		srv = httptest.NewServer(a.Handler())
	} else {
		srv = httptest.NewTLSServer(a.Handler())
	}
	t.Cleanup(srv.Close)
	return &env{t: t, app: a, srv: srv, logs: logs}
}

// client returns a new browser for e.
func (e *env) client(name string) *apptest.Client {
	return apptest.NewClient(e.t, e.srv, name)
}
