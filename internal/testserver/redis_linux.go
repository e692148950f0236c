package testserver

import (
	"os/exec"
	"syscall"
)

// setProcAttr asks Linux to kill a server when the test process dies
// without running its clean-ups, so that no server outlives a crashed test.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
