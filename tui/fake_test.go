package tui

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/tui/common"
	"latchkey/tui/styles"
)

// fakeStore is an in-memory Store.
type fakeStore struct {
	mu       sync.Mutex
	accounts []Account
	secrets  map[string]otp.Secret
	nextID   int
	calls    []string
}

func newFakeStore() *fakeStore { return &fakeStore{secrets: map[string]otp.Secret{}} }

func (s *fakeStore) put(a Account, b32 string) Account {
	sec, err := otp.DecodeSecret(b32)
	if err != nil {
		panic(err)
	}
	s.nextID++
	a.ID = fmt.Sprintf("id%02d", s.nextID)
	a.Order = s.nextID
	s.accounts = append(s.accounts, a)
	s.secrets[a.ID] = sec
	return a
}

func (s *fakeStore) index(id string) (int, error) {
	for i, a := range s.accounts {
		if a.ID == id {
			return i, nil
		}
	}
	return -1, fmt.Errorf("fake: %s: not found", id)
}

func (s *fakeStore) List(context.Context) ([]Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.accounts), nil
}

func (s *fakeStore) Secrets(context.Context) (map[string]otp.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]otp.Secret{}
	for k, v := range s.secrets {
		out[k] = v
	}
	return out, nil
}

func (s *fakeStore) Secret(_ context.Context, id string) (otp.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "secret "+id)
	sec, ok := s.secrets[id]
	if !ok {
		return nil, fmt.Errorf("fake: %s: not found", id)
	}
	return sec, nil
}

func (s *fakeStore) Add(_ context.Context, a Account, secret otp.Secret, force bool) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf("add %s force=%v", a.Label(), force))
	for _, b := range s.accounts {
		if b.Issuer == a.Issuer && b.Name == a.Name && !force {
			return Account{}, fmt.Errorf("fake: add %s: %w", a.Label(), store.ErrDuplicate)
		}
	}
	s.nextID++
	a.ID = fmt.Sprintf("id%02d", s.nextID)
	s.accounts = append(s.accounts, a)
	s.secrets[a.ID] = secret
	return a, nil
}

func (s *fakeStore) Update(_ context.Context, id string, fn func(*Account) error) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.index(id)
	if err != nil {
		return Account{}, err
	}
	a := s.accounts[i]
	if err := fn(&a); err != nil {
		return Account{}, err
	}
	s.accounts[i] = a
	s.calls = append(s.calls, "update "+a.Label())
	return a, nil
}

func (s *fakeStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.index(id)
	if err != nil {
		return err
	}
	s.accounts = slices.Delete(s.accounts, i, i+1)
	delete(s.secrets, id)
	s.calls = append(s.calls, "delete "+id)
	return nil
}

func (s *fakeStore) NextHOTP(_ context.Context, id string) (string, Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, err := s.index(id)
	if err != nil {
		return "", Account{}, err
	}
	a := &s.accounts[i]
	code, err := otp.HOTPCode(s.secrets[id], a.Counter, a.Options())
	if err != nil {
		return "", Account{}, err
	}
	a.Counter++
	s.calls = append(s.calls, fmt.Sprintf("hotp %s -> %d", id, a.Counter))
	return code, *a, nil
}

// fakeClipboard records what was copied.
type fakeClipboard struct {
	copied []string
	err    error
}

func (c *fakeClipboard) Copy(_ context.Context, text string) (time.Duration, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.copied = append(c.copied, text)
	return 30 * time.Second, nil
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// testStyles are bound to a renderer that draws no colour, so golden files
// are plain text.
func testStyles(profile termenv.Profile) *styles.Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(profile)
	r.SetHasDarkBackground(true)
	return styles.DefaultStyles(r)
}

func testCommon(c *clock, width, height int) common.Common {
	cm := common.New(context.Background(), testStyles(termenv.Ascii), nil, c.now)
	cm.SetSize(width, height)
	return cm
}
