// Package atomicfile replaces files so that a crash or a failed write
// leaves the old file or the new one, never a mix or a partial file:
//
//	err := atomicfile.Write(path, data, 0o600)
//
// It is the one place Latchkey writes a file that a reader may open at
// any time or that holds secrets: the account store's files, exports and
// QR images, the server's key file.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data, with permission bits perm (not reduced
// by the umask). It writes a temporary file in the same folder, syncs it
// to disk, renames it over path, then syncs the folder so that the rename
// itself survives a crash (where folders can be synced). On an error
// before the rename, path is unchanged and the temporary file is removed.
// Errors are the *os.PathError or *os.LinkError of the step that failed.
func Write(path string, data []byte, perm os.FileMode) error {
	return write(path, data, perm, syncDir)
}

func write(path string, data []byte, perm os.FileMode, syncDir func(string) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	renamed = true
	return syncDir(dir)
}
