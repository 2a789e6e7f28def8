//go:build !unix

package atomicfile

// syncDir does nothing where folders cannot be opened for syncing
// (Windows makes the rename durable itself).
func syncDir(string) error { return nil }
