package enroll

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// tokenIssuer marks the entries of the token store.
const tokenIssuer = "Latchkey helpdesk"

// ErrNoToken: no admin token is remembered for that server.
var ErrNoToken = errors.New("no admin token is remembered for this server")

// Tokens keeps helpdesk admin tokens in the OS keyring, through
// core/store (the only package that talks to the keyring): a store of its
// own in Home/helpdesk whose accounts are named by server URL and whose
// "secret" is the token. It never shows up among the user's accounts.
type Tokens struct {
	// Home is Latchkey's home folder (store.DefaultHome).
	Home string
	// Keyring replaces the OS keyring in tests; nil means the real one.
	Keyring store.KeyringAPI
}

func (t Tokens) open(ctx context.Context) (*store.Store, error) {
	return store.Open(ctx, store.Options{Home: filepath.Join(t.Home, "helpdesk"), Backend: store.Keyring, Keyring: t.Keyring})
}

func normURL(server string) string { return strings.TrimRight(strings.TrimSpace(server), "/") }

func (t Tokens) find(ctx context.Context, s *store.Store, server string) (store.Account, bool, error) {
	as, err := s.List(ctx)
	if err != nil {
		return store.Account{}, false, err
	}
	for _, a := range as {
		if a.Issuer == tokenIssuer && a.Name == normURL(server) {
			return a, true, nil
		}
	}
	return store.Account{}, false, nil
}

// Load returns the token remembered for server, or ErrNoToken.
func (t Tokens) Load(ctx context.Context, server string) (string, error) {
	s, err := t.open(ctx)
	if err != nil {
		return "", err
	}
	defer s.Close()
	a, ok, err := t.find(ctx, s, server)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrNoToken
	}
	sec, err := s.Secret(ctx, a.ID)
	if err != nil {
		return "", err
	}
	return string(sec), nil
}

// Save remembers token for server, replacing an older one.
func (t Tokens) Save(ctx context.Context, server, token string) error {
	if token == "" || len(token) > otp.MaxSecretSize {
		return fmt.Errorf("enroll: the admin token must be 1..%d bytes", otp.MaxSecretSize)
	}
	s, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	old, had, err := t.find(ctx, s, server)
	if err != nil {
		return err
	}
	if _, err := s.Add(ctx, store.Account{Issuer: tokenIssuer, Name: normURL(server), Type: otp.TOTP}, otp.Secret(token), true); err != nil {
		return err
	}
	if had {
		return s.Delete(ctx, old.ID)
	}
	return nil
}

// Forget removes the token remembered for server, if any.
func (t Tokens) Forget(ctx context.Context, server string) error {
	s, err := t.open(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	a, ok, err := t.find(ctx, s, server)
	if err != nil || !ok {
		return err
	}
	return s.Delete(ctx, a.ID)
}
