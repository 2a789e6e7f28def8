//go:build !lean

package main

import (
	"context"
	"fmt"
)

// The full build runs every command itself (the lean build's
// counterparts are in lean.go).

func handsOverFirst(string) bool { return false }

func handOver(_ context.Context, _ *env, name string, _ []string) error {
	return fmt.Errorf("%s: internal error: the full build was asked to hand over", name)
}
