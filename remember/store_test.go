package remember_test

import (
	"testing"

	"github.com/sessionkit/sessionkit/remember"
	"github.com/sessionkit/sessionkit/remember/remembertest"
)

func TestMemoryStore(t *testing.T) {
	remembertest.Run(t, remembertest.Options{
		New: func(t *testing.T) remember.Store { return remember.NewMemoryStore() },
	})
}
