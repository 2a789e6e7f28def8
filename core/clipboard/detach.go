package clipboard

import (
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// StartClearer starts exe with args as a detached process (its own
// session, no terminal, not waited for) and hands it the fingerprint key
// and sum on its standard input, where other users cannot see them (a
// command line can be read by anyone through the process list). The child
// reads them with [ReadTicket]. Its environment holds no passphrase
// (ChildEnv).
func StartClearer(exe string, args []string, key, sum []byte) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("clipboard: start clearer: %w", err)
	}
	defer r.Close()
	// The ticket fits in a pipe buffer: written now, before Start, it is
	// there even if this process exits the moment StartClearer returns.
	_, err = io.WriteString(w, hex.EncodeToString(key)+" "+hex.EncodeToString(sum)+"\n")
	w.Close()
	if err != nil {
		return fmt.Errorf("clipboard: start clearer: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = ChildEnv(os.Environ())
	cmd.Stdin = r
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("clipboard: start clearer: %w", err)
	}
	// Not waited for: the child outlives the caller.
	return cmd.Process.Release()
}

// ReadTicket parses what StartClearer wrote: the key and the sum.
func ReadTicket(line string) (key, sum []byte, err error) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return nil, nil, fmt.Errorf("clipboard: bad ticket")
	}
	if key, err = hex.DecodeString(f[0]); err != nil || len(key) < 16 {
		return nil, nil, fmt.Errorf("clipboard: bad ticket key")
	}
	if sum, err = hex.DecodeString(f[1]); err != nil || len(sum) != 32 {
		return nil, nil, fmt.Errorf("clipboard: bad ticket sum")
	}
	return key, sum, nil
}
