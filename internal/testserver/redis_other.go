//go:build !linux

package testserver

import "os/exec"

// setProcAttr does nothing outside Linux.
func setProcAttr(cmd *exec.Cmd) {}
