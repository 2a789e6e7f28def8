package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
)

// Pairing links an account to a Latchkey server that asks it to approve
// sign-ins (OpenID CIBA, see core/device). The device key itself is
// kept where the account's secret is: a keyring item of its own, or in
// the vault; never in the metadata file.
type Pairing struct {
	// Server is the server's base URL.
	Server string `json:"server"`
	// User and Credential name the account on the server.
	User       string `json:"user"`
	Credential string `json:"credential_id"`
	// Device is the id the server gave the device key.
	Device string `json:"device_id"`
}

// deviceItem is the keyring user of an account's device key.
func deviceItem(id string) string { return id + ".device" }

// SetPairing records that account id is paired as p, with key (an
// Ed25519 private key seed) as its device key, replacing any earlier
// pairing. The key is written before the metadata, and removed again if
// the metadata cannot be saved.
func (s *Store) SetPairing(ctx context.Context, id string, p Pairing, key []byte) error {
	if len(key) == 0 || p.Server == "" || p.Device == "" {
		return fmt.Errorf("store: pair %q: %w: incomplete pairing", id, ErrInvalid)
	}
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	keyring := s.Backend() == Keyring
	if keyring {
		if err := s.kr.Set(Service, deviceItem(id), base64.StdEncoding.EncodeToString(key)); err != nil {
			return fmt.Errorf("store: pair %q: %w", id, &keyringError{err})
		}
	}
	err := s.mutate(ctx, func(st *snapshot) error {
		i := indexOf(st.accounts, id)
		if i < 0 {
			return ErrNotFound
		}
		pc := p
		st.accounts[i].Pairing = &pc
		if st.devKeys != nil {
			st.devKeys[id] = s.keep(slices.Clone(key))
		}
		return nil
	})
	if err != nil {
		if keyring {
			_ = s.kr.Delete(Service, deviceItem(id))
		}
		return fmt.Errorf("store: pair %q: %w", id, err)
	}
	return nil
}

// DeviceKey returns a paired account's device key (the Ed25519 seed),
// or ErrNotFound when the account is not paired.
func (s *Store) DeviceKey(ctx context.Context, id string) ([]byte, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	i := indexOf(snap.accounts, id)
	if i < 0 || snap.accounts[i].Pairing == nil {
		return nil, fmt.Errorf("store: device key %q: %w", id, ErrNotFound)
	}
	if s.Backend() == File {
		k, ok := snap.devKeys[id]
		if !ok {
			return nil, fmt.Errorf("store: device key %q: %w", id, ErrNotFound)
		}
		return slices.Clone(k), nil
	}
	return s.keyringDeviceKey(id)
}

// keyringDeviceKey reads account id's device key item.
func (s *Store) keyringDeviceKey(id string) ([]byte, error) {
	v, err := s.kr.Get(Service, deviceItem(id))
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("store: device key %q: the keyring has no device key: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("store: device key %q: %w", id, &keyringError{err})
	}
	k, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("store: device key %q: %w", id, ErrCorrupt)
	}
	return k, nil
}

// Unpair forgets an account's pairing and deletes its device key.
func (s *Store) Unpair(ctx context.Context, id string) error {
	err := s.mutate(ctx, func(st *snapshot) error {
		i := indexOf(st.accounts, id)
		if i < 0 {
			return ErrNotFound
		}
		st.accounts[i].Pairing = nil
		delete(st.devKeys, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: unpair %q: %w", id, err)
	}
	if s.Backend() == Keyring {
		if err := s.kr.Delete(Service, deviceItem(id)); err != nil && !isNotFound(err) {
			return fmt.Errorf("store: unpair %q: %w", id, &keyringError{err})
		}
	}
	return nil
}
