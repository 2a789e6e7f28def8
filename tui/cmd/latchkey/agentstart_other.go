//go:build !unix

package main

import "latchkey/core/agent"

// startDetached: no agent runs on this OS.
func startDetached(string, []string, []string) error { return agent.ErrUnsupported }
