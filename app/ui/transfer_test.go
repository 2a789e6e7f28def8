package ui

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/qr"
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
	var btn *widget.Button
	for _, o := range test.LaidOutObjects(h.w.Content()) {
		if b, ok := o.(*widget.Button); ok && b.Icon == theme.StorageIcon() {
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

func TestImportURIs(t *testing.T) {
	h := newTransferHarness(t, seedThree)
	h.files = []*transfer.File{{Name: "accounts.txt", Data: []byte(uriList)}}
	h.app.showImport()
	if got := h.dialogText(); !strings.Contains(got, "accounts.txt") {
		t.Fatalf("the import dialog does not name the file:\n%s", got)
	}
	h.tap("Import")
	got := h.dialogText()
	for _, want := range []string{
		"Added 2, skipped 1 (already present), unsupported 0.",
		"GitHub:alice@example.com exists with another secret; imported as GitHub:alice@example.com (2).",
		"Already present: GitHub:alice@example.com.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	// The list was reloaded.
	rows := h.rows()
	for _, want := range []string{"Acme\tcarol", "GitHub\talice@example.com (2)"} {
		if !strings.Contains(rows, want) {
			t.Errorf("rows lack %q:\n%s", want, rows)
		}
	}
	if !strings.Contains(h.app.status.Text, "Imported 2 accounts") {
		t.Errorf("status %q", h.app.status.Text)
	}
}

// Two QR-less migration batches in two files are gathered into one
// import; "Add another file…" picks the second.
func TestImportSeveralFiles(t *testing.T) {
	h := newTransferHarness(t, nil)
	sec := func(b32 string) otp.Secret { s, _ := otp.DecodeSecret(b32); return s }
	entries := []transfer.Entry{
		{Key: keyOf("A", "one", sec("JBSWY3DPEHPK3PXP"))},
		{Key: keyOf("B", "two", sec(rfcSecret))},
	}
	uris, _, err := transfer.MigrationURIs(entries, 1)
	if err != nil || len(uris) != 2 {
		t.Fatalf("migration URIs: %d %v", len(uris), err)
	}
	h.files = []*transfer.File{{Name: "batch1.txt", Data: []byte(uris[0])}, {Name: "batch2.txt", Data: []byte(uris[1])}}
	h.app.showImport()
	h.tap("Add another file…")
	if got := h.dialogText(); !strings.Contains(got, "batch1.txt") || !strings.Contains(got, "batch2.txt") {
		t.Fatalf("the dialog does not list both files:\n%s", got)
	}
	h.tap("Import")
	if got := h.dialogText(); !strings.Contains(got, "Added 2,") {
		t.Fatalf("summary:\n%s", got)
	}
	if rows := h.rows(); !strings.Contains(rows, "A\tone") || !strings.Contains(rows, "B\ttwo") {
		t.Errorf("rows:\n%s", rows)
	}
}

func keyOf(issuer, name string, sec otp.Secret) otpauth.Key {
	return otpauth.Key{Type: otp.TOTP, Issuer: issuer, Account: name, Secret: sec, Algorithm: otp.SHA1, Digits: 6, Period: 30}
}

// An encrypted Aegis vault (core/transfer's fixture, written by its tests
// from the public format): the password is asked, a wrong one says so and
// asks again, Cancel adds nothing.
func TestImportEncryptedAegis(t *testing.T) {
	vault, err := os.ReadFile(filepath.Join("..", "..", "core", "transfer", "testdata", "aegis-encrypted.json"))
	if err != nil {
		t.Fatal(err)
	}
	file := func() *transfer.File { return &transfer.File{Name: "aegis.json", Data: vault} }

	h := newTransferHarness(t, seedThree)
	h.files = []*transfer.File{file()}
	h.app.showImport()
	h.tap("Import")
	if got := h.dialogText(); !strings.Contains(got, "aegis.json is encrypted") {
		t.Fatalf("no password question:\n%s", got)
	}
	test.Type(passwordEntries(overlay(t, h.w))[0], "not the password")
	h.tap("Open")
	if got := h.dialogText(); !strings.Contains(got, "Wrong password: it does not open aegis.json. Try again.") {
		t.Fatalf("after a wrong password:\n%s", got)
	}
	test.Type(passwordEntries(overlay(t, h.w))[0], "fixture password")
	h.tap("Open")
	got := h.dialogText()
	if !strings.Contains(got, "Added ") || !strings.Contains(got, "Not imported: Old:m: motp") {
		t.Fatalf("summary after the right password:\n%s", got)
	}
	if rows := h.rows(); !strings.Contains(rows, "Bank\tcarol") {
		t.Errorf("rows:\n%s", rows)
	}

	// Cancel at the password: nothing added.
	h2 := newTransferHarness(t, seedThree)
	h2.files = []*transfer.File{file()}
	h2.app.showImport()
	h2.tap("Import")
	h2.tap("Cancel")
	if n := len(h2.store.accts); n != 3 {
		t.Errorf("%d accounts after cancelling the password", n)
	}
}

func TestImportErrorsAddNothing(t *testing.T) {
	tests := []struct {
		name  string
		files []*transfer.File
		fail  error // from Import
		wants []string
	}{
		{"bad line", []*transfer.File{
			{Name: "good.txt", Data: []byte("otpauth://totp/New:one?secret=JBSWY3DPEHPK3PXP\n")},
			{Name: "bad.txt", Data: []byte("otpauth://totp/New:two?secret=JBSWY3DPEHPK3PXP\notpauth://totp/X:y?secret=not*base32\n")},
		}, nil, []string{"Nothing was imported", "bad.txt", "line 2"}},
		{"unknown format", []*transfer.File{{Name: "notes.txt", Data: []byte("hello")}}, nil,
			[]string{"Nothing was imported", "notes.txt", "unrecognized import format"}},
		{"store fails", []*transfer.File{{Name: "ok.txt", Data: []byte(uriList)}}, errors.New("disk full"),
			[]string{"Nothing was imported", "disk full"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newTransferHarness(t, seedThree)
			if tc.fail != nil {
				h.app.deps.Transfer.Import = func(context.Context, Store, []transfer.Entry) (storeio.Summary, error) {
					return storeio.Summary{}, tc.fail
				}
			}
			h.files = tc.files
			h.app.showImport()
			for range tc.files[1:] {
				h.tap("Add another file…")
			}
			h.tap("Import")
			got := errorText(t, h.w)
			for _, want := range tc.wants {
				if !strings.Contains(got, want) {
					t.Errorf("error lacks %q: %s", want, got)
				}
			}
			if n := len(h.store.accts); n != 3 {
				t.Errorf("%d accounts after a failed import, want 3", n)
			}
		})
	}
}

// errorText is the message of the error dialog on top.
func errorText(t *testing.T, w fyne.Window) string {
	t.Helper()
	var b strings.Builder
	for _, x := range test.LaidOutObjects(overlay(t, w)) {
		switch v := x.(type) {
		case *widget.Label:
			b.WriteString(v.Text + "\n")
		case *canvas.Text:
			b.WriteString(v.Text + "\n")
		case *widget.RichText:
			b.WriteString(v.String() + "\n")
		}
	}
	return b.String()
}

func TestImportSummaryText(t *testing.T) {
	tests := []struct {
		name string
		sum  storeio.Summary
		warn []string
		want string
	}{
		{"nothing", storeio.Summary{}, nil, "Added 0, skipped 0 (already present), unsupported 0."},
		{"all kinds", storeio.Summary{
			Added:       []Account{{Name: "a"}},
			Skipped:     []string{"X:y", "z"},
			Renamed:     []storeio.Renamed{{From: "A:b", To: "A:b (2)"}},
			Unsupported: []transfer.Skipped{{Label: "Old:m", Reason: "MD5 is not supported."}},
		}, []string{"line 3: no issuer"}, "Added 1, skipped 2 (already present), unsupported 1.\n" +
			"A:b exists with another secret; imported as A:b (2).\n" +
			"Already present: X:y, z.\n" +
			"Not imported: Old:m: MD5 is not supported.\n" +
			"Warning: line 3: no issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := importSummary(tc.warn, tc.sum); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestExportPlainAsksFirst(t *testing.T) {
	for _, f := range []transfer.Format{transfer.FormatURIs, transfer.FormatAegis, transfer.FormatMigration} {
		t.Run(string(f), func(t *testing.T) {
			h := newTransferHarness(t, seedThree)
			h.save = filepath.Join(t.TempDir(), "out")
			h.app.runExport(f, "suggested", false)
			if got := h.dialogText(); !strings.Contains(got, "This writes the secrets of 3 accounts unencrypted") {
				t.Fatalf("no confirmation:\n%s", got)
			}
			h.tap("Cancel")
			if _, err := os.Stat(h.save); !os.IsNotExist(err) || len(h.saves) != 0 {
				t.Fatalf("cancelled, yet a file was asked for or written (%v)", err)
			}
			h.app.runExport(f, "suggested", false)
			h.tap("Continue")
			st, err := os.Stat(h.save)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			data, _ := os.ReadFile(h.save)
			res, err := transfer.Read(data, transfer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			sameAccounts(t, res.Entries, h.store)
			if !strings.Contains(h.app.status.Text, "Exported 3 accounts as "+string(f)) {
				t.Errorf("status %q", h.app.status.Text)
			}
		})
	}
}

// sameAccounts checks entries against the fake store's accounts and
// secrets.
func sameAccounts(t *testing.T, entries []transfer.Entry, s *fakeStore) {
	t.Helper()
	var got, want []string
	for _, e := range entries {
		got = append(got, e.Label()+" "+e.Key.Secret.Base32()+" "+string(e.Key.Type))
	}
	for _, a := range s.accts {
		want = append(want, a.Label()+" "+s.secrets[a.ID].Base32()+" "+string(a.Type))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("exported:\n%q\nstored:\n%q", got, want)
	}
}

func TestExportBackup(t *testing.T) {
	h := newTransferHarness(t, seedThree)
	h.save = filepath.Join(t.TempDir(), "backup.age")
	h.app.runExport(transfer.FormatBackup, "latchkey-backup.age", false)
	pass := passwordEntries(overlay(t, h.w))
	if len(pass) != 2 {
		t.Fatalf("%d passphrase fields, want 2", len(pass))
	}
	next := button(t, overlay(t, h.w), "Next")
	test.Type(pass[0], "backup pass")
	test.Type(pass[1], "backup pasz")
	if !next.Disabled() {
		t.Error("Next is enabled while the passphrases differ")
	}
	pass[1].SetText("")
	test.Type(pass[1], "backup pass")
	if next.Disabled() {
		t.Fatal("Next is disabled with matching passphrases")
	}
	test.Tap(next)
	if !slices.Equal(h.saves, []string{"latchkey-backup.age"}) {
		t.Errorf("suggested names %q", h.saves)
	}
	data, err := os.ReadFile(h.save)
	if err != nil {
		t.Fatal(err)
	}
	res, err := transfer.Read(data, transfer.Options{Passphrase: func() ([]byte, error) { return []byte("backup pass"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	sameAccounts(t, res.Entries, h.store)
}

func TestExportMigrationQRs(t *testing.T) {
	h := newTransferHarness(t, func(s *fakeStore) {
		for i := range 25 {
			s.seed(Account{Issuer: "Issuer", Name: strings.Repeat("n", 20) + string(rune('a'+i))}, rfcSecret)
		}
	})
	h.app.runExport(transfer.FormatMigration, "x", true)
	if got := h.dialogText(); !strings.Contains(got, "The QR codes hold the secrets of 25 accounts") {
		t.Fatalf("no confirmation:\n%s", got)
	}
	h.tap("Continue")
	var qw fyne.Window
	for _, w := range fyne.CurrentApp().Driver().AllWindows() {
		if w.Title() == "Google Authenticator transfer" {
			qw = w
		}
	}
	if qw == nil {
		t.Fatal("no QR window")
	}
	var uris []string
	for range 10 {
		var img *canvas.Image
		for _, o := range test.LaidOutObjects(qw.Content()) {
			// The QR image, not an icon.
			if ci, ok := o.(*canvas.Image); ok && ci.Image != nil && ci.Image.Bounds().Dx() >= 300 {
				img = ci
			}
		}
		if img == nil {
			t.Fatal("no QR image")
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img.Image); err != nil {
			t.Fatal(err)
		}
		got, err := qr.Decode(buf.Bytes())
		if err != nil || len(got) != 1 {
			t.Fatalf("decoding the shown QR: %q %v %T %v", got, err, img.Image, img.Image.Bounds())
		}
		uris = append(uris, got[0])
		txt := texts(qw.Content())
		if strings.Contains(txt, "[Done]") {
			break
		}
		test.Tap(button(t, qw.Content(), "Next"))
	}
	if len(uris) < 2 {
		t.Fatalf("%d QR codes for 25 accounts, want several batches", len(uris))
	}
	if !strings.Contains(texts(qw.Content()), "QR code "+string(rune('0'+len(uris)))+" of") {
		t.Errorf("window text:\n%s", texts(qw.Content()))
	}
	entries, _, err := transfer.ParseMigration(uris)
	if err != nil {
		t.Fatal(err)
	}
	sameAccounts(t, entries, h.store)
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
	if len(u.rows()) != len(before) {
		t.Errorf("%d rows for %d accounts", len(u.rows()), len(before))
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
