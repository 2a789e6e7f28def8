package ui

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// fakeStore is an in-memory Store for the screens' unit tests.
type fakeStore struct {
	mu          sync.Mutex
	backend     Backend
	accts       []Account
	secrets     map[string]otp.Secret
	next        int
	closed      bool
	migrated    Backend
	failList    error
	failSecrets error
	warnings    []string
}

func newFakeStore(b Backend) *fakeStore {
	return &fakeStore{backend: b, secrets: map[string]otp.Secret{}}
}

// seed adds an account with a base32 secret.
func (s *fakeStore) seed(a Account, b32 string) Account {
	sec, err := otp.DecodeSecret(b32)
	if err != nil {
		panic(err)
	}
	a, err = s.Add(context.Background(), a, sec, true)
	if err != nil {
		panic(err)
	}
	return a
}

func (s *fakeStore) Backend() Backend { return s.backend }

func (s *fakeStore) Warnings() []string { return slices.Clone(s.warnings) }

func (s *fakeStore) List(context.Context) ([]Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failList != nil {
		return nil, s.failList
	}
	out := slices.Clone(s.accts)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out, nil
}

func (s *fakeStore) Add(_ context.Context, a Account, secret otp.Secret, force bool) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.accts {
		if !force && strings.EqualFold(x.Issuer, a.Issuer) && strings.EqualFold(x.Name, a.Name) {
			return Account{}, fmt.Errorf("store: add: %w", store.ErrDuplicate)
		}
	}
	s.next++
	a.ID = fmt.Sprintf("id%02d", s.next)
	a.Order = s.next
	if a.Digits == 0 {
		a.Digits = 6
	}
	if a.Period == 0 {
		a.Period = 30
	}
	s.accts = append(s.accts, a)
	s.secrets[a.ID] = slices.Clone(secret)
	return a, nil
}

func (s *fakeStore) find(id string) (int, error) {
	for i, a := range s.accts {
		if a.ID == id {
			return i, nil
		}
	}
	return -1, fmt.Errorf("store: %q: %w", id, store.ErrNotFound)
}

func (s *fakeStore) Secret(_ context.Context, id string) (otp.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.find(id); err != nil {
		return nil, err
	}
	sec, ok := s.secrets[id]
	if !ok {
		return nil, fmt.Errorf("store: secret %q: %w", id, store.ErrNotFound)
	}
	return slices.Clone(sec), nil
}

func (s *fakeStore) Generator(ctx context.Context, id string) (*otp.Generator, error) {
	a, err := s.get(id)
	if err != nil {
		return nil, err
	}
	sec, _ := s.Secret(ctx, id)
	return otp.NewGenerator(sec, a.Options())
}

func (s *fakeStore) Secrets(context.Context) (map[string]otp.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSecrets != nil {
		return nil, s.failSecrets
	}
	// As core/store does: an account whose secret is gone (delete it
	// from secrets) is named in a *store.MissingError beside the others.
	out := make(map[string]otp.Secret, len(s.secrets))
	var missing []string
	for _, a := range s.accts {
		if sec, ok := s.secrets[a.ID]; ok {
			out[a.ID] = slices.Clone(sec)
		} else {
			missing = append(missing, a.ID)
		}
	}
	if len(missing) > 0 {
		return out, &store.MissingError{IDs: missing}
	}
	return out, nil
}

func (s *fakeStore) get(id string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.find(id)
	if err != nil {
		return Account{}, err
	}
	return s.accts[i], nil
}

func (s *fakeStore) NextHOTP(_ context.Context, id string) (string, Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.find(id)
	if err != nil {
		return "", Account{}, err
	}
	a := &s.accts[i]
	code, err := otp.HOTPCode(s.secrets[id], a.Counter, a.Options())
	a.Counter++
	return code, *a, err
}

func (s *fakeStore) Update(_ context.Context, id string, fn func(*Account) error) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.find(id)
	if err != nil {
		return Account{}, err
	}
	a := s.accts[i]
	if err := fn(&a); err != nil {
		return Account{}, err
	}
	s.accts[i] = a
	return a, nil
}

func (s *fakeStore) Move(_ context.Context, id string, delta int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sort.SliceStable(s.accts, func(i, j int) bool { return s.accts[i].Order < s.accts[j].Order })
	i, err := s.find(id)
	if err != nil {
		return err
	}
	// As core/store does: take the account out, insert it delta places
	// away (clamped), renumber.
	j := min(max(i+delta, 0), len(s.accts)-1)
	a := s.accts[i]
	s.accts = slices.Insert(slices.Delete(s.accts, i, i+1), j, a)
	for k := range s.accts {
		s.accts[k].Order = k
	}
	return nil
}

func (s *fakeStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.find(id)
	if err != nil {
		return err
	}
	s.accts = slices.Delete(s.accts, i, i+1)
	delete(s.secrets, id)
	return nil
}

func (s *fakeStore) Migrate(_ context.Context, to Backend, pass func() ([]byte, error)) error {
	if to == File {
		if _, err := pass(); err != nil {
			return err
		}
	}
	s.migrated, s.backend = to, to
	return nil
}

func (s *fakeStore) Close() error { s.closed = true; return nil }

// fakeClock is a Clock whose time moves only when the test advances it.
type fakeClock struct {
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
	fired   bool
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		was := !t.stopped && !t.fired
		t.stopped = true
		return was
	}
}

// advance moves the clock by d, firing due timers in time order.
func (c *fakeClock) advance(d time.Duration) {
	end := c.now.Add(d)
	for {
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.fired && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			break
		}
		next.fired = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		next.f()
	}
	c.now = end
}
