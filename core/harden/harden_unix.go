//go:build unix

package harden

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func noCoreDumps() error {
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 0, Max: 0}); err != nil {
		return fmt.Errorf("harden: core size limit: %w", err)
	}
	return notDumpable()
}
