package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// notDumpable also keeps other processes of the same user from attaching
// to this one or reading its memory through /proc.
func notDumpable() error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("harden: PR_SET_DUMPABLE: %w", err)
	}
	return nil
}
