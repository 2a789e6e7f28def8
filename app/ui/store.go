package ui

import (
	"context"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// Account is an account's metadata, as core/store keeps it.
type Account = store.Account

// Backend names where the store keeps secrets.
type Backend = store.Backend

// The store backends.
const (
	Keyring = store.Keyring
	File    = store.File
)

// Store is what the screens need from the account store. *store.Store
// satisfies it; unit tests use an in-memory fake. Secret and Secrets
// return copies that the caller owns and wipes.
type Store interface {
	Backend() Backend
	// Warnings is what Open found wrong with the home folder but could go
	// on with (a folder other users can read), for the status line.
	Warnings() []string
	List(ctx context.Context) ([]Account, error)
	Add(ctx context.Context, a Account, secret otp.Secret, force bool) (Account, error)
	Secret(ctx context.Context, id string) (otp.Secret, error)
	Generator(ctx context.Context, id string) (*otp.Generator, error)
	Secrets(ctx context.Context) (map[string]otp.Secret, error)
	NextHOTP(ctx context.Context, id string) (string, Account, error)
	Update(ctx context.Context, id string, fn func(*Account) error) (Account, error)
	Move(ctx context.Context, id string, delta int) error
	Delete(ctx context.Context, id string) error
	Migrate(ctx context.Context, to Backend, passphrase func() ([]byte, error)) error
	Close() error
}

var _ Store = (*store.Store)(nil)

// Prompts answer the file store's passphrase questions.
type Prompts struct {
	// Passphrase unlocks an existing vault.
	Passphrase func() ([]byte, error)
	// NewPassphrase chooses the passphrase of a new vault (asked twice).
	NewPassphrase func() ([]byte, error)
}
