// Package harden makes the process a poorer target while it holds
// secrets in memory: the terminal UI, the desktop app and the agent call
// NoCoreDumps before they unlock anything.
package harden

// NoCoreDumps stops the process from writing a core dump (which would
// hold every secret it has in memory) and, on Linux, from being
// ptrace-attached or read through /proc/PID/mem by other processes of the
// same user (PR_SET_DUMPABLE 0). It is idempotent.
func NoCoreDumps() error { return noCoreDumps() }
