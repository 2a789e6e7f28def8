package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/tui/components/accounts"
)

// OpenedMsg reports the result of opening the store.
type OpenedMsg struct {
	Store Store
	Err   error
}

// openCmd opens the store with o.
func openCmd(ctx context.Context, open OpenFunc, o OpenOptions) tea.Cmd {
	return func() tea.Msg {
		s, err := open(ctx, o)
		return OpenedMsg{Store: s, Err: err}
	}
}

// open starts opening the store in the backend the user chose (if any).
// A passphrase o lacks is LATCHKEY_PASSPHRASE's, else none yet: the
// store's need for one brings up the prompt that fits, unlocking a vault
// or creating one.
func (m Model) open(o OpenOptions) tea.Cmd {
	o.Backend = m.backend
	if o.Passphrase == nil {
		o.Passphrase = m.opts.Passphrase
	}
	if o.NewPassphrase == nil {
		o.NewPassphrase = m.opts.Passphrase
	}
	if o.Passphrase == nil {
		o.Passphrase = func() ([]byte, error) { return nil, ErrNeedPassphrase }
	}
	if o.NewPassphrase == nil {
		o.NewPassphrase = func() ([]byte, error) { return nil, ErrNeedNewPassphrase }
	}
	return openCmd(m.common.Ctx, m.opts.Open, o)
}

// LoadedMsg carries the accounts with their generators. Reload marks a
// periodic re-read, whose failure is logged rather than shown.
type LoadedMsg struct {
	Items  []accounts.Item
	Reload bool
	Err    error
}

// reloadCmd lists the accounts again.
func reloadCmd(ctx context.Context, s Store) tea.Cmd {
	load := loadCmd(ctx, s)
	return func() tea.Msg {
		msg := load().(LoadedMsg)
		msg.Reload = true
		return msg
	}
}

// loadCmd lists the accounts and builds a generator for each.
func loadCmd(ctx context.Context, s Store) tea.Cmd {
	return func() tea.Msg {
		as, err := s.List(ctx)
		if err != nil {
			return LoadedMsg{Err: fmt.Errorf("list accounts: %w", err)}
		}
		secrets, err := s.Secrets(ctx)
		if err != nil {
			return LoadedMsg{Err: fmt.Errorf("read secrets: %w", err)}
		}
		items := make([]accounts.Item, len(as))
		for i, a := range as {
			items[i] = item(a)
			if sec, ok := secrets[a.ID]; ok {
				// A generator that fails (a corrupt secret) leaves
				// Gen nil: the row says the secret is unavailable.
				items[i].Gen, _ = otp.NewGenerator(sec, a.Options())
			}
		}
		return LoadedMsg{Items: items}
	}
}

func item(a Account) accounts.Item {
	return accounts.Item{
		ID: a.ID, Issuer: a.Issuer, Name: a.Name, Tags: a.Tags, Type: a.Type,
		Algorithm: a.Algorithm, Digits: a.Digits, Period: a.Period, Counter: a.Counter,
	}
}

// CopiedMsg reports a copy to the clipboard.
type CopiedMsg struct {
	Label    string
	ClearsIn time.Duration
	Err      error
}

func copyCmd(ctx context.Context, c Clipboard, label, code string) tea.Cmd {
	return func() tea.Msg {
		if c == nil {
			return CopiedMsg{Label: label, Err: errors.New("no clipboard")}
		}
		d, err := c.Copy(ctx, code)
		return CopiedMsg{Label: label, ClearsIn: d, Err: err}
	}
}

// DeletedMsg reports a deletion.
type DeletedMsg struct {
	ID, Label string
	Err       error
}

func deleteCmd(ctx context.Context, s Store, id, label string) tea.Cmd {
	return func() tea.Msg {
		return DeletedMsg{ID: id, Label: label, Err: s.Delete(ctx, id)}
	}
}

// RenamedMsg reports a rename.
type RenamedMsg struct {
	Account Account
	Err     error
}

func renameCmd(ctx context.Context, s Store, id, issuer, name string) tea.Cmd {
	return func() tea.Msg {
		a, err := s.Update(ctx, id, func(a *Account) error {
			a.Issuer, a.Name = issuer, name
			return nil
		})
		return RenamedMsg{Account: a, Err: err}
	}
}

// AddedMsg reports an added account.
type AddedMsg struct {
	Item  accounts.Item
	Label string
	Key   *otpauth.Key // kept to retry with force after ErrDuplicate
	Force bool         // the add was asked with force
	Err   error
}

func addCmd(ctx context.Context, s Store, k *otpauth.Key, force bool) tea.Cmd {
	return func() tea.Msg {
		a := Account{
			Issuer: k.Issuer, Name: k.Account, Type: k.Type, Algorithm: k.Algorithm,
			Digits: k.Digits, Period: k.Period, Counter: k.Counter,
		}
		if a.Digits == 0 {
			a.Digits = otp.DefaultDigits
		}
		if a.Period == 0 {
			a.Period = otp.DefaultPeriod
		}
		g, err := otp.NewGenerator(k.Secret, a.Options())
		if err != nil {
			return AddedMsg{Label: a.Label(), Key: k, Force: force, Err: err}
		}
		label := a.Label()
		a, err = s.Add(ctx, a, k.Secret, force)
		if err != nil {
			return AddedMsg{Label: label, Key: k, Force: force, Err: err}
		}
		it := item(a)
		it.Gen = g
		return AddedMsg{Item: it, Label: a.Label(), Key: k, Force: force}
	}
}

// EnrolledMsg reports an account added from an enrollment link and
// confirmed with the server.
type EnrolledMsg struct {
	Item  accounts.Item
	Label string
	Err   error
}

// enrollCmd redeems link with enroll, then reads the new account's secret
// to show its codes at once.
func enrollCmd(ctx context.Context, enroll Enroller, s Store, link string) tea.Cmd {
	return func() tea.Msg {
		// Force: the link is spent once redeemed, so refusing a duplicate
		// name would lose it; the UI says when the name was already there.
		a, err := enroll(ctx, link, s, true)
		if err != nil {
			return EnrolledMsg{Err: err}
		}
		it := item(a)
		if sec, err := s.Secret(ctx, a.ID); err == nil {
			// Without it the row says the secret is unavailable until
			// the next reload.
			it.Gen, _ = otp.NewGenerator(sec, a.Options())
		}
		return EnrolledMsg{Item: it, Label: a.Label()}
	}
}

// HOTPMsg carries the next HOTP code; the store persisted the counter
// before returning it.
type HOTPMsg struct {
	Code    string
	Account Account
	Err     error
}

func nextHOTPCmd(ctx context.Context, s Store, id string) tea.Cmd {
	return func() tea.Msg {
		code, a, err := s.NextHOTP(ctx, id)
		return HOTPMsg{Code: code, Account: a, Err: err}
	}
}

// QRMsg carries the otpauth URI of the account to draw as a QR code.
type QRMsg struct {
	Label string
	URI   string
	Err   error
}

func qrCmd(ctx context.Context, s Store, it accounts.Item) tea.Cmd {
	return func() tea.Msg {
		sec, err := s.Secret(ctx, it.ID)
		if err != nil {
			return QRMsg{Label: it.Label(), Err: err}
		}
		k := &otpauth.Key{
			Type: it.Type, Issuer: it.Issuer, Account: it.Name, Secret: sec,
			Algorithm: it.Algorithm, Digits: it.Digits, Period: it.Period, Counter: it.Counter,
		}
		return QRMsg{Label: it.Label(), URI: k.String()}
	}
}
