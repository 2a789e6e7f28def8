package tui

import (
	"context"
	"errors"
	"time"

	"latchkey/core/otp"
)

// Account is an account's metadata as the store keeps it.
type Account struct {
	ID        string
	Issuer    string
	Name      string
	Type      otp.Type
	Algorithm otp.Algorithm
	Digits    int
	Period    int
	Counter   uint64
	Tags      []string
	Order     int
	Created   time.Time
}

// Label is "Issuer:Name", or the name alone.
func (a Account) Label() string {
	if a.Issuer == "" {
		return a.Name
	}
	return a.Issuer + ":" + a.Name
}

// Options are the account's OTP parameters.
func (a Account) Options() otp.Options {
	return otp.Options{Algorithm: a.Algorithm, Digits: a.Digits, Period: a.Period}
}

// Store is what the UI needs of the account store (core/store's *Store
// satisfies it; tests use a fake). Every method may do I/O, so the UI
// calls them from commands, never from Update or View.
type Store interface {
	List(ctx context.Context) ([]Account, error)
	Secrets(ctx context.Context) (map[string]otp.Secret, error)
	Secret(ctx context.Context, id string) (otp.Secret, error)
	Add(ctx context.Context, a Account, secret otp.Secret, force bool) (Account, error)
	Update(ctx context.Context, id string, fn func(*Account) error) (Account, error)
	Delete(ctx context.Context, id string) error
	NextHOTP(ctx context.Context, id string) (code string, a Account, err error)
}

// Clipboard copies a code where the user can paste it.
type Clipboard interface {
	Copy(ctx context.Context, text string) error
}

// OpenFunc opens the store; passphrase is called only when the file store
// must be unlocked or created.
type OpenFunc func(ctx context.Context, passphrase func() ([]byte, error)) (Store, error)

// Errors an OpenFunc reports so the UI can show the right screen.
var (
	// ErrNeedPassphrase is returned by the UI's own passphrase callback
	// when no passphrase was given yet; the UI then asks for one.
	ErrNeedPassphrase = errors.New("passphrase needed")
	// ErrBadPassphrase means the passphrase did not open the vault.
	ErrBadPassphrase = errors.New("wrong passphrase")
	// ErrKeyringUnavailable means the OS keyring cannot be used; its
	// message says how to use the file store instead.
	ErrKeyringUnavailable = errors.New("the OS keyring is unavailable; run with --store file (or LATCHKEY_STORE=file) to keep secrets in an encrypted file")
	// ErrDuplicate means an account with the same issuer and name exists.
	ErrDuplicate = errors.New("an account with this issuer and name already exists")
)
