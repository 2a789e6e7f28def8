package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"latchkey/core/agent"
	"latchkey/core/store"
)

// ViaAgent hands the screens the agent (core/agent) in place of s when s
// is the file store with a vault: the running agent, unlocked with
// o.Passphrase if it is locked, else one started from o.Exe. Then the
// desktop, the terminal UI and the CLI read and write one vault through
// one process, and the scrypt unlock happens once. ok is false when s
// stays the store (the keyring, no vault yet, no agent answering and none
// started): the caller uses s itself. On error s is closed.
func ViaAgent(ctx context.Context, s *store.Store, o agent.ConnectOptions) (st Store, ok bool, err error) {
	if s.Backend() != store.File {
		return nil, false, nil
	}
	if _, err := os.Stat(filepath.Join(s.Home(), store.VaultFile)); err != nil {
		return nil, false, nil
	}
	o.Home = s.Home()
	c, err := agent.Connect(ctx, o)
	if errors.Is(err, agent.ErrNoAgent) {
		return nil, false, nil
	}
	if err != nil {
		s.Close()
		return nil, false, err
	}
	return &agentStore{Client: c, file: s}, true, nil
}

// agentStore is the agent's client in the shape of Store; it also pairs
// and unpairs (enroll.PairStore), imports and exports (storeio.Store).
type agentStore struct {
	*agent.Client
	file *store.Store // opened here: its warnings, and Migrate
}

// Warnings are those of the store opened here (the same home).
func (a *agentStore) Warnings() []string { return a.file.Warnings() }

// Migrate moves the vault away from the file store: the agent forgets it
// first, then the store opened here moves it (asking for its passphrase).
func (a *agentStore) Migrate(ctx context.Context, to Backend, passphrase func() ([]byte, error)) error {
	if err := a.Client.Lock(ctx); err != nil {
		return err
	}
	return a.file.Migrate(ctx, to, passphrase)
}

// Close ends the connection; the agent stays as it is.
func (a *agentStore) Close() error {
	a.file.Close()
	return a.Client.Close()
}

// lockAgent makes the agent behind s, if any, forget the vault: the
// desktop's lock (idle, or the window closing with the store locked)
// locks the faces sharing it too, so that unlocking asks the passphrase.
func lockAgent(ctx context.Context, s Store) {
	if a, ok := s.(*agentStore); ok {
		_ = a.Client.Lock(ctx)
	}
}
