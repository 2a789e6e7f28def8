//go:build unix && !linux

package agent

// dontDump has no counterpart here; harden.NoCoreDumps turns core dumps
// off for the whole process.
func dontDump([]byte) {}
