//go:build !unix

package agent

import "net"

// Listen fails where the agent cannot check its peers.
func Listen(string) (*net.UnixListener, func(), error) { return nil, nil, ErrUnsupported }
