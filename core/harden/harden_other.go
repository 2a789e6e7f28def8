//go:build !unix

package harden

// noCoreDumps: Windows writes no core dumps of its own accord (crash
// dumps are opt-in through WER settings an administrator controls).
func noCoreDumps() error { return nil }
