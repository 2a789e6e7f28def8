//go:build unix

package agent

import (
	"os/exec"
	"syscall"
)

// startDetached starts exe in a session of its own, in /, its standard
// streams on /dev/null, and lets it run on after this process exits.
func startDetached(exe string, args, env []string) error {
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.Dir = "/" // holds no folder of the caller's busy
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
