//go:build unix

package agent

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Listen makes the agent's socket at path (SocketPath): it makes the
// folder 0700 (or checks that an existing one is the user's own and
// private), takes the agent's lock beside the socket so that two agents
// never serve one vault (ErrRunning), removes a socket left by an agent
// that died, and listens, the socket 0600. release drops the lock after
// the listener is closed.
func Listen(path string) (ln *net.UnixListener, release func(), err error) {
	dir := filepath.Dir(path)
	if err := privateDir(dir); err != nil {
		return nil, nil, err
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("agent: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, nil, ErrRunning
		}
		return nil, nil, fmt.Errorf("agent: lock: %w", err)
	}
	// Holding the lock, any socket here is a dead agent's.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return nil, nil, fmt.Errorf("agent: %w", err)
	}
	ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("agent: %w", err)
	}
	// The folder already keeps others out; the mode says so again.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		lock.Close()
		return nil, nil, fmt.Errorf("agent: %w", err)
	}
	return ln, func() { lock.Close() }, nil
}

// privateDir makes dir (mode 0700) or checks an existing one: a real
// folder (not a link), owned by this user, that no one else may enter.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("agent: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() {
		return fmt.Errorf("%w: %s", ErrRuntimeDir, dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s is mode %#o (want 0700)", ErrRuntimeDir, dir, fi.Mode().Perm())
	}
	return nil
}
