package store

import "github.com/zalando/go-keyring"

// errKeyringNotFound is go-keyring's not-found error, as its mock returns.
var errKeyringNotFound = keyring.ErrNotFound
