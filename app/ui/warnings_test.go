package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"latchkey/core/otp"
)

// The store's warnings about the home folder stay in the status line
// after opening, and come back after a note.
func TestStoreWarningsInStatusLine(t *testing.T) {
	const warning = "the folder /home/x/.config/latchkey can be read by other users (mode 0755); run chmod 700 on it"
	h := newHarness(t, Keyring, func(s *fakeStore) {
		seedThree(s)
		s.warnings = []string{warning}
	})
	if !h.app.status.Visible() || h.app.status.Text != warning {
		t.Fatalf("status line after opening: visible %v, %q", h.app.status.Visible(), h.app.status.Text)
	}
	if !strings.Contains(texts(h.w.Content()), warning) {
		t.Errorf("the window does not show the warning:\n%s", texts(h.w.Content()))
	}
	test.Tap(h.row(0)) // copies the code: a note
	if !strings.HasPrefix(h.app.status.Text, "Copied the code of GitHub") {
		t.Fatalf("status line after copying: %q", h.app.status.Text)
	}
	h.clock.advance(4 * time.Second)
	if !h.app.status.Visible() || h.app.status.Text != warning {
		t.Errorf("status line after the note: visible %v, %q", h.app.status.Visible(), h.app.status.Text)
	}
}

// Without warnings a note leaves the status line hidden again.
func TestNoWarningsStatusHidden(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	if h.app.status.Visible() {
		t.Fatalf("status line shown after opening: %q", h.app.status.Text)
	}
	test.Tap(h.row(0))
	h.clock.advance(4 * time.Second)
	if h.app.status.Visible() {
		t.Errorf("status line still shown after the note: %q", h.app.status.Text)
	}
}

// A keyring item deleted outside Latchkey: the other accounts' codes are
// shown, the broken row says its secret is missing, and the status line
// says what to do.
func TestMissingSecretMarksRow(t *testing.T) {
	h := newHarness(t, Keyring, func(s *fakeStore) {
		seedThree(s)
		delete(s.secrets, s.accts[0].ID) // GitHub's keyring item
	})
	if h.app.list == nil {
		t.Fatalf("the list is not shown:\n%s", texts(h.w.Content()))
	}
	rows := listed(h.w)
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "GitHub\talice@") || !strings.HasSuffix(rows[0], "\t"+missingSecret) ||
		rows[1] != "Example\tbob\t6294 4326" || rows[2] != "vpn\t\tPress for a code" {
		t.Errorf("rows:\n%s", strings.Join(rows, "\n"))
	}
	if got := h.app.status.Text; !h.app.status.Visible() || !strings.Contains(got, "no secret for GitHub:alice@example.com") {
		t.Errorf("status line: visible %v, %q", h.app.status.Visible(), got)
	}
	goldenImage(t, "accounts_missing_secret.png", h.w.Canvas())

	// Pressing the broken row copies nothing and says why.
	fyne.CurrentApp().Clipboard().SetContent("before")
	test.Tap(h.row(0))
	if got := fyne.CurrentApp().Clipboard().Content(); got != "before" {
		t.Errorf("the broken row copied %q", got)
	}
	if !strings.Contains(h.app.status.Text, "delete the account and add it again") {
		t.Errorf("status after pressing the broken row: %q", h.app.status.Text)
	}
	// The other rows still work.
	test.Tap(h.row(1))
	if got := fyne.CurrentApp().Clipboard().Content(); got != "62944326" {
		t.Errorf("Example copied %q, want 62944326", got)
	}

	// The item comes back (restored by the user): when the list next
	// changes, GitHub shows its code again and the warning goes.
	sec, err := otp.DecodeSecret(rfcSecret)
	if err != nil {
		t.Fatal(err)
	}
	h.store.mu.Lock()
	h.store.secrets[h.store.accts[0].ID] = sec
	h.store.mu.Unlock()
	h.store.seed(Account{Issuer: "Added", Name: "elsewhere"}, rfcSecret)
	h.clock.advance(pollEvery)
	if got := h.rows(); !strings.HasPrefix(got, "GitHub\talice@example.com  #work\t081 804") {
		t.Errorf("after the secret came back:\n%s", got)
	}
	h.clock.advance(4 * time.Second) // the note from pressing Example ends
	if h.app.status.Visible() {
		t.Errorf("status line still shown: %q", h.app.status.Text)
	}
}
