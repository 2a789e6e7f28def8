//go:build !race

// The race detector changes escape analysis, so allocation counts are only
// asserted without it; `make test` runs the Allocs tests in a separate
// non-race pass.

package otp

import (
	"testing"
	"time"
)

func TestZeroAllocs(t *testing.T) {
	g, _ := NewGenerator(rfc6238Seeds[SHA512], Options{Algorithm: SHA512, Digits: 8})
	now := time.Unix(1700000000, 0)
	buf := make([]byte, 0, 8)
	if n := testing.AllocsPerRun(100, func() { g.Verify("12345678", now, 1) }); n != 0 {
		t.Errorf("Verify allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = g.AppendCode(buf[:0], 42) }); n != 0 {
		t.Errorf("AppendCode allocates %v times", n)
	}
	steam, _ := NewGenerator(rfc6238Seeds[SHA1], Options{Steam: true})
	if n := testing.AllocsPerRun(100, func() { steam.Verify("pv9m4", now, 1) }); n != 0 {
		t.Errorf("Steam Verify allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = steam.AppendCode(buf[:0], 42) }); n != 0 {
		t.Errorf("Steam AppendCode allocates %v times", n)
	}
}
