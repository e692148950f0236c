package app

import (
	"testing"

	"github.com/sessionkit/sessionkit/cmd/authserver/internal/apptest"
)

func TestFlowsMemory(t *testing.T) {
	t.Parallel()
	apptest.RunCoreFlows(t, newEnv(t).client, true)
}
