//go:build !unix

package server

import (
	"errors"
	"os"
)

// ErrInUse means another server (process or Store) holds the SQLite file.
var ErrInUse = errors.New("the database is in use by another server; SQLite serves one instance (use PostgreSQL for several)")

// lockFile opens path; without flock, exclusivity is not enforced here.
func lockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
