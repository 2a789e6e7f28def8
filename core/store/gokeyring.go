//go:build !lean || !linux

package store

import (
	"errors"

	"github.com/zalando/go-keyring"
)

// go-keyring, which the lean build leaves out on Linux (see lean.go).

func goKeyringSet(service, user, password string) error { return keyring.Set(service, user, password) }
func goKeyringDelete(service, user string) error        { return keyring.Delete(service, user) }
func goKeyringGet(service, user string) (string, error) { return keyring.Get(service, user) }

func isNotFound(err error) bool { return errors.Is(err, keyring.ErrNotFound) }
