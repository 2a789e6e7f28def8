package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultKeyringTimeout bounds one keyring call when Options.KeyringTimeout
// is zero. A Secret Service that is locked behind a prompt nobody answers,
// or a bus that accepts calls and never replies, must not hang a command.
const DefaultKeyringTimeout = 10 * time.Second

// errKeyringTimeout is the cause of ErrKeyringUnavailable when the keyring
// did not answer in time.
var errKeyringTimeout = errors.New("the keyring did not answer in time")

// osKeyring is the OS keyring through go-keyring, each call bounded by a
// timeout. A call that times out goes on in the background; its result is
// dropped (a late Set can leave an orphan item, as a crash can).
type osKeyring struct{ timeout time.Duration }

func (k osKeyring) Set(service, user, password string) error {
	_, err := within(k.timeout, func() (struct{}, error) {
		return struct{}{}, keyring.Set(service, user, password)
	})
	return err
}

func (k osKeyring) Get(service, user string) (string, error) {
	return within(k.timeout, func() (string, error) {
		return keyring.Get(service, user)
	})
}

func (k osKeyring) Delete(service, user string) error {
	_, err := within(k.timeout, func() (struct{}, error) {
		return struct{}{}, keyring.Delete(service, user)
	})
	return err
}

// within runs f and waits at most d for its result.
func within[T any](d time.Duration, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-done:
		return r.v, r.err
	case <-t.C:
		var zero T
		return zero, fmt.Errorf("%w (%s)", errKeyringTimeout, d)
	}
}

func isNotFound(err error) bool { return errors.Is(err, keyring.ErrNotFound) }
