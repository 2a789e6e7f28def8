package store

import (
	"errors"

	"github.com/zalando/go-keyring"
)

// osKeyring is the OS keyring through go-keyring. Where the platform has
// a faster way to read an item (the Secret Service, see keyring_linux.go)
// reads try it first and fall back to go-keyring for anything unusual
// (item not found, collection locked, no service).
type osKeyring struct {
	fast *fastReader // nil where there is no fast path
}

func newOSKeyring() *osKeyring { return &osKeyring{fast: newFastReader()} }

func (*osKeyring) Set(service, user, password string) error {
	admitGoKeyring()
	return keyring.Set(service, user, password)
}

func (*osKeyring) Delete(service, user string) error {
	admitGoKeyring()
	return keyring.Delete(service, user)
}

func (k *osKeyring) Get(service, user string) (string, error) {
	if k.fast != nil {
		if v, ok := k.fast.get(service, user); ok {
			return v, nil
		}
	}
	admitGoKeyring()
	return keyring.Get(service, user)
}

func (k *osKeyring) connect() {
	if k.fast != nil {
		k.fast.connect()
	}
}

func (k *osKeyring) warm() {
	if k.fast != nil {
		k.fast.warm()
	}
}

func (k *osKeyring) close() {
	if k.fast != nil {
		k.fast.close()
	}
}

func isNotFound(err error) bool { return errors.Is(err, keyring.ErrNotFound) }
