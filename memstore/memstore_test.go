package memstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit"
	"github.com/sessionkit/sessionkit/memstore"
	"github.com/sessionkit/sessionkit/sessiontest"
)

func TestConformance(t *testing.T) {
	sessiontest.Run(t, sessiontest.Options{
		New: func(t *testing.T) sessionkit.Store {
			s := memstore.New(memstore.Options{})
			t.Cleanup(func() { s.Close() })
			return s
		},
		NewWithClock: func(t *testing.T, now func() time.Time) sessionkit.Store {
			s := memstore.New(memstore.Options{Now: now})
			t.Cleanup(func() { s.Close() })
			return s
		},
		Dump: nil,
	})
}

var _ = fmt.Sprint
