package tui

import (
	"context"
	"errors"
	"time"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// Account is an account's metadata (never its secret).
type Account = store.Account

// Store is what the UI needs of the account store (core/store's *Store
// and the agent's client, core/agent's *Client, satisfy it; tests use a
// fake). Every method may do I/O, so the UI
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

// Clipboard copies a code where the user can paste it. clearsIn is how
// long until the clipboard is cleared (if still unchanged); 0 means it is
// not cleared (OSC 52 cannot be read back).
type Clipboard interface {
	Copy(ctx context.Context, text string) (clearsIn time.Duration, err error)
}

// Enroller redeems an enrollment link from a Latchkey server (as
// core/enroll.Enroll does): it fetches the account's key over the link,
// stores it in s (even beside an account with the same issuer and name
// when force is set), computes the current code and confirms it with the
// server, so the credential ends verified. Its errors never hold the
// link's token, the secret or the code. The command line builds the real
// one; tests use a fake.
type Enroller func(ctx context.Context, link string, s Store, force bool) (Account, error)

// OpenOptions is how the UI asks OpenFunc to open the store.
type OpenOptions struct {
	// Backend is store.File once the user took the file store because no
	// keyring answered; "" keeps the command line's choice (--store,
	// LATCHKEY_STORE, the remembered store, else the keyring).
	Backend store.Backend
	// Passphrase unlocks an existing vault and NewPassphrase creates one
	// (core/store's Options of the same names); each is called only when
	// needed. Until the user typed one, the UI's return ErrNeedPassphrase
	// and ErrNeedNewPassphrase.
	Passphrase    func() ([]byte, error)
	NewPassphrase func() ([]byte, error)
}

// OpenFunc opens the store.
type OpenFunc func(ctx context.Context, o OpenOptions) (Store, error)

// ErrNeedPassphrase is returned by the UI's own passphrase callback when
// no passphrase was given yet; the UI then asks for one. The store's
// ErrNoPassphrase and ErrBadPassphrase bring up the same prompt, and
// ErrKeyringUnavailable its one-sentence explanation (or, when opening
// finds no keyring on first use, the offer of the file store).
var ErrNeedPassphrase = errors.New("passphrase needed")

// ErrNeedNewPassphrase is ErrNeedPassphrase for a vault not created yet
// (the first write to a new file store); the UI asks for a new passphrase
// twice, creates the vault with it and finishes what it was doing.
var ErrNeedNewPassphrase = errors.New("a passphrase for the new vault needed")

// The real store is one.
var _ Store = (*store.Store)(nil)
