//go:build !unix

package agent

// startDetached: no agent runs on this OS.
func startDetached(string, []string, []string) (func() (string, bool), func(), error) {
	return nil, nil, ErrUnsupported
}
