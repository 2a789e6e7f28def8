//go:build !unix

package agent

// lockedBytes falls back to the Go heap where there is no mlock; free
// still wipes.
func lockedBytes(n int) ([]byte, bool, func(), error) {
	b := make([]byte, n)
	return b, false, func() { clear(b) }, nil
}
