package store

import (
	"errors"

	"github.com/zalando/go-keyring"
)

// osKeyring is the OS keyring through go-keyring.
type osKeyring struct{}

func (osKeyring) Set(service, user, password string) error {
	return keyring.Set(service, user, password)
}
func (osKeyring) Get(service, user string) (string, error) { return keyring.Get(service, user) }
func (osKeyring) Delete(service, user string) error        { return keyring.Delete(service, user) }

func isNotFound(err error) bool { return errors.Is(err, keyring.ErrNotFound) }
