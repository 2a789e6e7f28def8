//go:build unix && !linux

package harden

// notDumpable has no portable counterpart outside Linux; the core size
// limit is what there is.
func notDumpable() error { return nil }
