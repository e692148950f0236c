//go:build !unix

package testserver

import "os/exec"

// postgresUser returns nil: outside Unix the server runs as the current
// user.
func postgresUser() (*credential, error) { return nil, nil }

// setPostgresProcAttr does nothing outside Unix.
func setPostgresProcAttr(cmd *exec.Cmd, cred *credential) { setProcAttr(cmd) }
