package transfer

import (
	"fmt"

	"latchkey/core/atomicfile"
)

// WriteFile writes an export to path, readable by the owner only (0600),
// atomically (atomicfile.Write), so a crash leaves the old file or the
// new one, never a partial export with secrets in it.
func WriteFile(path string, data []byte) error {
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
