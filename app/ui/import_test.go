package ui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/transfer"
	"latchkey/core/transfer/storeio"
)

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
		name  string
		sum   storeio.Summary
		warn  []string
		noOTP int
		want  string
	}{
		{"nothing", storeio.Summary{}, nil, 0, "Added 0, skipped 0 (already present), unsupported 0."},
		{"logins without a code", storeio.Summary{Added: []Account{{Name: "a"}}}, nil, 4,
			"Added 1, skipped 0 (already present), unsupported 0.\nLogins without a one-time code (left out): 4."},
		{"all kinds", storeio.Summary{
			Added:       []Account{{Name: "a"}},
			Skipped:     []string{"X:y", "z"},
			Renamed:     []storeio.Renamed{{From: "A:b", To: "A:b (2)"}},
			Unsupported: []transfer.Skipped{{Label: "Old:m", Reason: "MD5 is not supported."}},
		}, []string{"line 3: no issuer"}, 0, "Added 1, skipped 2 (already present), unsupported 1.\n" +
			"A:b exists with another secret; imported as A:b (2).\n" +
			"Already present: X:y, z.\n" +
			"Not imported: Old:m: MD5 is not supported.\n" +
			"Warning: line 3: no issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := importSummary(tc.warn, tc.sum, tc.noOTP); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// Exports of other apps (core/transfer's fixtures, written by its tests
// from each format's public description) are recognized from their
// content; a password manager's logins without a code are counted in the
// summary, and an encrypted andOTP backup asks for its password, a wrong
// one adding nothing.
func TestImportOtherApps(t *testing.T) {
	fixture := func(name string) *transfer.File {
		data, err := os.ReadFile(filepath.Join("..", "..", "core", "transfer", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return &transfer.File{Name: name, Data: data}
	}
	for _, tc := range []struct{ file, want string }{
		{"bitwarden.csv", "Added 3, skipped 0 (already present), unsupported 1.\nLogins without a one-time code (left out): 2."},
		{"protonpass.json", "Logins without a one-time code (left out): 1."},
		{"keepassxc.csv", "Added 3,"},
		{"freeotp-plus.json", "Added 3,"},
		{"authenticator-pro.json", "Not imported: Old:m: mOTP authenticators are not supported."},
		{"ente-auth.txt", "Not imported: Old:bob: it is in Ente's trash."},
		{"andotp-plain.json", "Added 3,"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			h := newTransferHarness(t, nil)
			h.files = []*transfer.File{fixture(tc.file)}
			h.app.showImport()
			h.tap("Import")
			if got := h.dialogText(); !strings.Contains(got, tc.want) {
				t.Fatalf("summary lacks %q:\n%s", tc.want, got)
			}
			if rows := h.rows(); !strings.Contains(rows, "Bank\tcarol") {
				t.Errorf("rows:\n%s", rows)
			}
		})
	}

	h := newTransferHarness(t, seedThree)
	h.files = []*transfer.File{fixture("andotp-encrypted.json.aes")}
	h.app.showImport()
	h.tap("Import")
	if got := h.dialogText(); !strings.Contains(got, "andotp-encrypted.json.aes is encrypted") {
		t.Fatalf("no password question:\n%s", got)
	}
	test.Type(passwordEntries(overlay(t, h.w))[0], "not the password")
	h.tap("Open")
	if got := h.dialogText(); !strings.Contains(got, "Wrong password") {
		t.Fatalf("after a wrong password:\n%s", got)
	}
	if n := len(h.store.accts); n != 3 {
		t.Fatalf("%d accounts after a wrong password", n)
	}
	test.Type(passwordEntries(overlay(t, h.w))[0], "fixture password")
	h.tap("Open")
	if got := h.dialogText(); !strings.Contains(got, "Added 2, skipped 1 (already present)") {
		t.Fatalf("summary after the right password:\n%s", got)
	}
}
