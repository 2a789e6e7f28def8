package transfer

import (
	"fmt"
	"os"

	"latchkey/core/atomicfile"
)

// WriteFile writes an export to path, readable by the owner only (0600),
// atomically (atomicfile.Write), so a crash leaves the old file or the
// new one, never a partial export with secrets in it. A path that names a
// character device or a pipe (/dev/stdout, a FIFO, a process
// substitution) is written to as it is: replacing it with a file would
// leave the device link behind, broken, and the data nowhere it was sent.
func WriteFile(path string, data []byte) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode()&(os.ModeCharDevice|os.ModeNamedPipe) != 0 {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
