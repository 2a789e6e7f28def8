//go:build unix

package server

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrInUse means another server (process or Store) holds the SQLite file.
var ErrInUse = errors.New("the database is in use by another server; SQLite serves one instance (use PostgreSQL for several)")

// lockFile takes an exclusive lock on path (created 0600) for as long as
// the returned file stays open. The kernel drops it if the process dies,
// so a killed server never leaves a stale lock.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock: %w", err)
	}
	return f, nil
}
