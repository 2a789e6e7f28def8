package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrCannotList: the OS keyring offers no way to list Latchkey's items
// (only the Secret Service does, among go-keyring's backends).
var ErrCannotList = errors.New("this keyring cannot list its items (only the Secret Service on Linux can)")

// itemLister is a keyring that can name every item of a service.
type itemLister interface {
	Users(service string) ([]string, error)
}

// Orphans returns the ids of keyring items Latchkey wrote (service
// "latchkey") that no account names any more: left by a crash between
// writing a secret and its account, or by an account removed outside
// Latchkey. Keyring backend only.
func (s *Store) Orphans(ctx context.Context) ([]string, error) {
	if s.Backend() != Keyring {
		return nil, fmt.Errorf("store: orphans: %w: the file store keeps secrets and accounts together", ErrInvalid)
	}
	l, ok := s.kr.(itemLister)
	if !ok {
		return nil, fmt.Errorf("store: orphans: %w", ErrCannotList)
	}
	as, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	users, err := l.Users(Service)
	if err != nil {
		return nil, fmt.Errorf("store: orphans: %w", &keyringError{err})
	}
	var out []string
	for _, u := range users {
		if validID(u) && !hasID(as, u) {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// RemoveOrphan deletes an orphaned keyring item.
func (s *Store) RemoveOrphan(ctx context.Context, id string) error {
	if err := s.isOrphan(ctx, id); err != nil {
		return err
	}
	if err := s.kr.Delete(Service, id); err != nil && !isNotFound(err) {
		return fmt.Errorf("store: remove %q: %w", id, &keyringError{err})
	}
	return nil
}

// Reattach gives an orphaned keyring item an account again, a with the
// item's id. The item holds only the secret: a's type, algorithm, digits
// and period are the caller's guess (the zero values mean TOTP, SHA1, 6
// digits, 30 s, what most services use).
func (s *Store) Reattach(ctx context.Context, id string, a Account) (Account, error) {
	if err := s.isOrphan(ctx, id); err != nil {
		return Account{}, err
	}
	sec, err := s.keyringGet(id)
	if err != nil {
		return Account{}, fmt.Errorf("store: reattach %q: %w", id, err)
	}
	defer sec.Wipe()
	a.ID = id
	out, err := s.AddMany(ctx, []NewAccount{{Account: a, Secret: sec}})
	if err != nil {
		return Account{}, err
	}
	return out[0], nil
}

func (s *Store) isOrphan(ctx context.Context, id string) error {
	orphans, err := s.Orphans(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(orphans, id) {
		return fmt.Errorf("store: %q: %w: no orphaned keyring item has this id", id, ErrNotFound)
	}
	return nil
}
