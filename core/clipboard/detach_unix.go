//go:build unix

package clipboard

import (
	"os/exec"
	"syscall"
)

// detach puts the child in its own session, so that the terminal closing
// (SIGHUP) or the shell's job control does not reach it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}
