//go:build unix

package agent

import "golang.org/x/sys/unix"

// lockedBytes returns n bytes outside the Go heap, locked in RAM (never
// swapped) and, on Linux, left out of core dumps; free wipes and unmaps
// them. When the memory-lock limit (RLIMIT_MEMLOCK) refuses, the bytes
// are still private and wiped, and locked reports false.
func lockedBytes(n int) (b []byte, locked bool, free func(), err error) {
	size := (n + unix.Getpagesize() - 1) / unix.Getpagesize() * unix.Getpagesize()
	m, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, false, nil, err
	}
	locked = unix.Mlock(m) == nil
	dontDump(m)
	return m[:n:n], locked, func() {
		clear(m)
		if locked {
			unix.Munlock(m)
		}
		unix.Munmap(m)
	}, nil
}
