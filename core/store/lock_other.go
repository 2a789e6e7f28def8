//go:build !unix

package store

import (
	"context"
	"errors"
	"os"
	"time"
)

// lockFile is the fallback for systems without flock: an exclusive
// create of path+".excl", retried until ctx ends. Unlike flock it
// survives a crash; a lock older than a minute is taken over.
func lockFile(ctx context.Context, path string) (func(), error) {
	p := path + ".excl"
	for {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(p) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > time.Minute {
			os.Remove(p)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
