package tui

import (
	"context"
	"fmt"
	"testing"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// freshVault is a file store with no vault yet, as core/store has one:
// listing needs no passphrase, and the first write asks for one to
// create the vault with.
type freshVault struct {
	*fakeStore
	pass    func() ([]byte, error)
	created *[]string
}

func (s freshVault) Add(ctx context.Context, a Account, sec otp.Secret, force bool) (Account, error) {
	p, err := s.pass()
	if err != nil {
		return Account{}, fmt.Errorf("store: passphrase: %w", err)
	}
	*s.created = append(*s.created, string(p))
	return s.fakeStore.Add(ctx, a, sec, force)
}

// TestAddCreatesVault is issue 14's "TUI cannot add to a fresh file
// store": the first add asks for a new passphrase twice, creates the vault
// with it, and then adds; nothing typed lands in the form.
func TestAddCreatesVault(t *testing.T) {
	st := newFakeStore()
	var created []string
	var opens []OpenOptions
	h := newHarness(t, harnessOpts{open: func(_ context.Context, o OpenOptions) (Store, error) {
		opens = append(opens, o)
		return freshVault{fakeStore: st, pass: o.NewPassphrase, created: &created}, nil
	}})
	h.wantView("0 accounts")
	h.keys("a", "otpauth://totp/ACME:carol?secret=JBSWY3DPEHPK3PXP", "enter")
	h.wantNotView("Not added")
	h.wantView("Create the file store")
	h.keys("first", "enter")
	h.wantView("again")
	h.keys("other", "enter")
	h.wantView("differ")
	h.keys("ctrl+u", "s3cret", "enter", "s3cret", "enter")
	if !h.model().Ready() {
		t.Fatalf("not back on the list:\n%s", h.view())
	}
	h.wantView("Added ACME:carol.", "1 account ·")
	if len(created) != 1 || created[0] != "s3cret" {
		t.Fatalf("vault created with %q", created)
	}
	if len(st.accounts) != 1 || st.accounts[0].Label() != "ACME:carol" {
		t.Fatalf("stored %+v", st.accounts)
	}
	// Once the vault exists it is opened again, as an existing one is at
	// start (the command line then hands the agent), with its passphrase.
	if len(opens) != 3 {
		t.Fatalf("the store was opened %d times; want 3 (at start, with the new passphrase, once the vault exists)", len(opens))
	}
	if p, err := opens[2].Passphrase(); err != nil || string(p) != "s3cret" {
		t.Fatalf("opened again with %q, %v", p, err)
	}
	h.wantView("1 account ·")
}

// TestNoKeyringOffersFileStore is issue 14's "no automatic fallback": when
// opening finds no keyring on first use, the UI offers the encrypted file
// store instead of a dead end; y opens it, n leaves the one-sentence error.
func TestNoKeyringOffersFileStore(t *testing.T) {
	for _, answer := range []string{"y", "n"} {
		t.Run(answer, func(t *testing.T) {
			var asked []store.Backend
			var h *harness
			h = newHarness(t, harnessOpts{open: func(_ context.Context, o OpenOptions) (Store, error) {
				asked = append(asked, o.Backend)
				if o.Backend != store.File {
					return nil, fmt.Errorf("store: %w", store.ErrKeyringUnavailable)
				}
				return h.store, nil
			}})
			h.wantView("Keep your accounts in an encrypted file instead?", "The OS keyring is unavailable", "LATCHKEY_STORE=file")
			h.keys(answer)
			if answer == "n" {
				h.wantView("--store file or LATCHKEY_STORE=file", "Press q to quit")
				if len(asked) != 1 {
					t.Fatalf("opened %q after no", asked)
				}
				return
			}
			if !h.model().Ready() {
				t.Fatalf("the file store was not opened:\n%s", h.view())
			}
			h.wantView("5 accounts")
			if len(asked) != 2 || asked[0] != "" || asked[1] != store.File {
				t.Fatalf("opened %q", asked)
			}
		})
	}
}

// A keyring that fails after the store was chosen (its accounts are in
// it) keeps the error screen: the file store would hide them.
func TestKeyringFailsLaterNoOffer(t *testing.T) {
	h := newHarness(t, harnessOpts{open: func(context.Context, OpenOptions) (Store, error) {
		return failingList{fmt.Errorf("store: %w", store.ErrKeyringUnavailable)}, nil
	}})
	h.wantNotView("encrypted file instead?")
	h.wantView("--store file", "Press q to quit")
}

type failingList struct{ err error }

func (f failingList) List(context.Context) ([]Account, error) { return nil, f.err }
func (f failingList) Secrets(context.Context) (map[string]otp.Secret, error) {
	return nil, f.err
}
func (f failingList) Secret(context.Context, string) (otp.Secret, error) { return nil, f.err }
func (f failingList) Add(context.Context, Account, otp.Secret, bool) (Account, error) {
	return Account{}, f.err
}
func (f failingList) Update(context.Context, string, func(*Account) error) (Account, error) {
	return Account{}, f.err
}
func (f failingList) Delete(context.Context, string) error { return f.err }
func (f failingList) NextHOTP(context.Context, string) (string, Account, error) {
	return "", Account{}, f.err
}

// TestUnlockPromptExistingVault: the prompt for a vault that exists asks
// to unlock it, without claiming a new vault is created with what is
// typed (issue 14's polish list).
func TestUnlockPromptExistingVault(t *testing.T) {
	st := newFakeStore()
	seed(st)
	h := newHarness(t, harnessOpts{open: func(_ context.Context, o OpenOptions) (Store, error) {
		return lazyStore{fakeStore: st, pass: o.Passphrase, want: "s3cret"}, nil
	}})
	h.wantView("Unlock the file store")
	for _, claim := range []string{"new vault", "created"} {
		h.wantNotView(claim)
	}
}

// TestEnrollLinkCreatesVaultFirst: redeeming a link spends it, so on a
// file store with no vault the UI asks for the new passphrase before
// redeeming, not after (when a failed write would lose the link); esc
// leaves the link unused.
func TestEnrollLinkCreatesVaultFirst(t *testing.T) {
	st := newFakeStore()
	var created []string
	fe := newFakeEnroller()
	h := newHarness(t, harnessOpts{enroll: fe.enroll, open: func(_ context.Context, o OpenOptions) (Store, error) {
		return freshVault{fakeStore: st, pass: o.NewPassphrase, created: &created}, nil
	}})
	h.keys("a", testLink, "enter")
	h.wantView("Create the file store")
	h.keys("esc")
	h.wantView("Not enrolled", "the link was not used")
	if fe.calls() != 0 {
		t.Fatal("the link was redeemed without a vault")
	}
	h.keys("enter")
	h.keys("pw", "enter", "pw", "enter")
	h.wantView("Enrolled and confirmed", "1 account ·")
	if fe.calls() != 1 || len(created) != 1 || created[0] != "pw" {
		t.Fatalf("redeemed %d times, vault created with %q", fe.calls(), created)
	}
}

func TestGoldenCreateVault(t *testing.T) {
	h := newHarness(t, harnessOpts{width: 40, height: 16, open: func(_ context.Context, o OpenOptions) (Store, error) {
		return freshVault{fakeStore: newFakeStore(), pass: o.NewPassphrase, created: new([]string)}, nil
	}})
	h.keys("a", "otpauth://totp/ACME:carol?secret=JBSWY3DPEHPK3PXP", "enter")
	golden(t, "create-vault-40", h.view())
	h.keys("pw", "enter", "other", "enter")
	golden(t, "create-vault-differ-40", h.view())
}
