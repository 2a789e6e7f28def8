package ui

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"latchkey/core/qr"
	"latchkey/core/transfer"
)

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
