package agent

import "golang.org/x/sys/unix"

// dontDump keeps b out of core dumps (MADV_DONTDUMP).
func dontDump(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTDUMP) }
