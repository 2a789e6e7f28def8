//go:build unix

package agent

import (
	"os/exec"
	"strconv"
	"syscall"
)

// startDetached starts exe in a session of its own, in /, its standard
// streams on /dev/null, to run on after this process exits. ended tells,
// without waiting, whether it has exited already, and how (reaping it);
// release lets it go once it is known to run.
func startDetached(exe string, args, env []string) (ended func() (string, bool), release func(), err error) {
	cmd := exec.Command(exe, args...)
	cmd.Env = env
	cmd.Dir = "/" // holds no folder of the caller's busy
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	pid := cmd.Process.Pid
	ended = func() (string, bool) {
		var ws syscall.WaitStatus
		if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); err != nil || got != pid {
			return "", false
		}
		if ws.Signaled() {
			return "killed by " + ws.Signal().String(), true
		}
		return "exit status " + strconv.Itoa(ws.ExitStatus()), true
	}
	return ended, func() { cmd.Process.Release() }, nil
}
