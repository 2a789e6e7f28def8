package ui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/store"
	"latchkey/core/transfer"
	"latchkey/core/transfer/storeio"
)

// manyStore gives the fake store the all-or-nothing AddMany of
// core/store, so that storeio runs on it.
type manyStore struct{ *fakeStore }

func (s manyStore) AddMany(ctx context.Context, items []store.NewAccount) ([]Account, error) {
	existing, _ := s.List(ctx)
	for _, it := range items {
		for _, x := range existing {
			if strings.EqualFold(x.Issuer, it.Account.Issuer) && strings.EqualFold(x.Name, it.Account.Name) {
				return nil, store.ErrDuplicate
			}
		}
	}
	var out []Account
	for _, it := range items {
		a, err := s.Add(ctx, it.Account, it.Secret, true)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// transferHarness is the harness with injected files: OpenFile hands out
// files in order (then cancels), SaveFile answers save.
type transferHarness struct {
	*harness
	files []*transfer.File
	save  string
	saves []string // suggested names
}

func newTransferHarness(t *testing.T, seed func(*fakeStore)) *transferHarness {
	th := &transferHarness{harness: newHarness(t, Keyring, seed)}
	th.app.deps.Transfer = Transfer{
		Import: func(ctx context.Context, s Store, e []transfer.Entry) (storeio.Summary, error) {
			return storeio.Import(ctx, manyStore{s.(*fakeStore)}, e)
		},
		Export: func(ctx context.Context, s Store) ([]transfer.Entry, error) {
			return storeio.Export(ctx, manyStore{s.(*fakeStore)})
		},
		OpenFile: func(_ fyne.Window, done func(*transfer.File, error)) {
			if len(th.files) == 0 {
				done(nil, nil)
				return
			}
			f := th.files[0]
			th.files = th.files[1:]
			done(f, nil)
		},
		SaveFile: func(_ fyne.Window, name string, done func(string, error)) {
			th.saves = append(th.saves, name)
			done(th.save, nil)
		},
		WorkFactor: 10,
	}
	return th
}

// tap taps the button labelled text in the top dialog.
func (h *harness) tap(text string) {
	h.t.Helper()
	test.Tap(button(h.t, overlay(h.t, h.w), text))
}

// dialogText is every label and button of the top dialog.
func (h *harness) dialogText() string {
	h.t.Helper()
	return texts(overlay(h.t, h.w))
}

func passwordEntries(o fyne.CanvasObject) []*widget.Entry {
	var out []*widget.Entry
	for _, x := range test.LaidOutObjects(o) {
		if e, ok := x.(*widget.Entry); ok && e.Password {
			out = append(out, e)
		}
	}
	return out
}

const uriList = `# two accounts
otpauth://totp/Acme:carol?secret=JBSWY3DPEHPK3PXP&issuer=Acme
otpauth://totp/GitHub:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=GitHub
otpauth://totp/GitHub:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=GitHub
`

func TestTransferMenu(t *testing.T) {
	h := newTransferHarness(t, seedThree)
	var btn *toolButton
	for _, o := range test.LaidOutObjects(h.w.Content()) {
		if b, ok := o.(*toolButton); ok && b.Icon == theme.StorageIcon() {
			btn = b
		}
	}
	if btn == nil {
		t.Fatal("no Import/Export button in the toolbar")
	}
	test.Tap(btn)
	var items []string
	for _, it := range h.app.transferMenu().Items {
		items = append(items, it.Label)
	}
	if got := strings.Join(items, ","); got != "Import accounts…,Export accounts…" {
		t.Errorf("menu items %q", got)
	}
	if h.w.Canvas().Overlays().Top() == nil {
		t.Error("tapping the button shows no menu")
	}
}

// Against the real store (file backend, temporary home): a URI list and
// an encrypted Aegis vault are imported, a backup exported, and the backup
// restores the same accounts into an empty store.
func TestTransferRealStore(t *testing.T) {
	ctx := context.Background()
	test.NewTempApp(t)
	pass := func() ([]byte, error) { return []byte("store pass"), nil }
	open := func(home string) (*App, fyne.Window, *store.Store) {
		w := test.NewTempWindow(t, nil)
		w.Resize(fyne.NewSize(420, 400))
		var real *store.Store
		u := New(w, Deps{
			Clock: &fakeClock{now: time.Now()},
			Open: func(ctx context.Context, _ Backend, _ Prompts) (Store, error) {
				s, err := store.Open(ctx, store.Options{Home: home, Backend: store.File, Passphrase: pass, WorkFactor: 2})
				real = s
				return s, err
			},
		})
		u.async = func(f func()) { f() }
		u.Start(ctx)
		t.Cleanup(u.Stop)
		if real == nil || u.store == nil {
			t.Fatal("the store did not open")
		}
		return u, w, real
	}
	u, w, real := open(t.TempDir())
	h := &harness{t: t, app: u, w: w}
	vault, err := os.ReadFile(filepath.Join("..", "..", "core", "transfer", "testdata", "aegis-encrypted.json"))
	if err != nil {
		t.Fatal(err)
	}
	files := []*transfer.File{{Name: "uris.txt", Data: []byte(uriList)}, {Name: "aegis.json", Data: vault}}
	backup := filepath.Join(t.TempDir(), "backup.age")
	u.deps.Transfer = Transfer{
		OpenFile: func(_ fyne.Window, done func(*transfer.File, error)) {
			if len(files) == 0 {
				done(nil, nil)
				return
			}
			f := files[0]
			files = files[1:]
			done(f, nil)
		},
		SaveFile:   func(_ fyne.Window, _ string, done func(string, error)) { done(backup, nil) },
		WorkFactor: 10,
	}
	u.showImport()
	h.tap("Add another file…")
	h.tap("Import")
	test.Type(passwordEntries(overlay(t, w))[0], "fixture password")
	h.tap("Open")
	if got := h.dialogText(); !strings.Contains(got, "Added ") {
		t.Fatalf("summary:\n%s", got)
	}
	before, err := real.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) < 4 {
		t.Fatalf("%d accounts after importing the URIs and the vault", len(before))
	}
	if n := u.list.Length(); n != len(before) {
		t.Errorf("the list has %d rows for %d accounts", n, len(before))
	}

	u.runExport(transfer.FormatBackup, "b.age", false)
	p := passwordEntries(overlay(t, w))
	test.Type(p[0], "backup pass")
	test.Type(p[1], "backup pass")
	h.tap("Next")
	if st, err := os.Stat(backup); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", st, err)
	}

	// Restore into an empty store.
	u2, w2, real2 := open(t.TempDir())
	h2 := &harness{t: t, app: u2, w: w2}
	data, _ := os.ReadFile(backup)
	files = []*transfer.File{{Name: "backup.age", Data: data}}
	u2.deps.Transfer = u.deps.Transfer
	u2.showImport()
	h2.tap("Import")
	test.Type(passwordEntries(overlay(t, w2))[0], "backup pass")
	h2.tap("Open")
	after, err := real2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("restored %d accounts, want %d", len(after), len(before))
	}
	for i := range before {
		a, b := before[i], after[i]
		if a.ID != b.ID || a.Label() != b.Label() || a.Type != b.Type || a.Digits != b.Digits || a.Period != b.Period || a.Counter != b.Counter {
			t.Errorf("account %d: restored %+v, want %+v", i, b, a)
		}
		s1, err1 := real.Secret(ctx, a.ID)
		s2, err2 := real2.Secret(ctx, b.ID)
		if err1 != nil || err2 != nil || !bytes.Equal(s1, s2) {
			t.Errorf("account %d: the secrets differ (%v %v)", i, err1, err2)
		}
	}
}
