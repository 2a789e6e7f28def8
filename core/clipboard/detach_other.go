//go:build !unix

package clipboard

import "os/exec"

// detach does nothing where sessions do not exist; the child is not
// waited for either way.
func detach(*exec.Cmd) {}
