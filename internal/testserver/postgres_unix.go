//go:build unix

package testserver

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// postgresUser returns the user to run PostgreSQL as: the "postgres" user
// when the tests run as root, nil (the current user) otherwise.
func postgresUser() (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoPostgresUser, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: uid %q: %v", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user: gid %q: %v", u.Gid, err)
	}
	return &credential{uid: uint32(uid), gid: uint32(gid)}, nil
}

// setPostgresProcAttr makes cmd run as cred (when not nil) and, on Linux,
// die with the test process.
func setPostgresProcAttr(cmd *exec.Cmd, cred *credential) {
	setProcAttr(cmd)
	if cred == nil {
		return
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{Uid: cred.uid, Gid: cred.gid, NoSetGroups: true}
}
