package ui

import (
	"context"
	"errors"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/enroll"
	"latchkey/core/otp"
	"latchkey/core/store"
)

// linkToken is a well-formed token (32 zero bytes, unpadded base64url).
const linkToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

const enrollLink = "https://auth.example.com/enroll#" + linkToken

// fakeEnroller stands in for enroll.Enroll: it records its calls and, on
// success, stores acc as the real one does.
type fakeEnroller struct {
	mu     sync.Mutex
	acc    Account
	err    error
	links  []string
	forces []bool
}

func (f *fakeEnroller) enroll(ctx context.Context, link string, s Store, force bool) (Account, error) {
	f.mu.Lock()
	f.links = append(f.links, link)
	f.forces = append(f.forces, force)
	f.mu.Unlock()
	if f.err != nil {
		return Account{}, f.err
	}
	sec, _ := otp.DecodeSecret(rfcSecret)
	return s.Add(ctx, f.acc, sec, force)
}

// enrollHarness is the app with a fake enroller and an add dialog shown
// for the form it returns.
func enrollHarness(t *testing.T, fe *fakeEnroller) (*harness, *addForm) {
	t.Helper()
	h := newHarness(t, Keyring, seedThree)
	h.app.deps.Enroll = fe.enroll
	f := h.app.newAddForm()
	f.dialog = dialog.NewCustom("Add account", "Close", f.tabs, h.w)
	f.dialog.Show()
	return h, f
}

func TestEnrollLink(t *testing.T) {
	tests := []struct {
		name   string
		acc    Account
		err    error
		status string // after success
		fail   string // the failure message, in the tab and in a dialog
	}{
		{name: "enrolled", acc: Account{Issuer: "ACME", Name: "frank"},
			status: "Enrolled ACME:frank; the server confirmed its first code."},
		{name: "same name kept beside", acc: Account{Issuer: "GitHub", Name: "alice@example.com"},
			status: "Enrolled GitHub:alice@example.com beside the existing account of that name; the server confirmed its first code."},
		{name: "spent link", err: enroll.ErrInvalidLink,
			fail: "Could not enroll: the enrollment link is invalid, expired or already used; ask the helpdesk for a new one."},
		{name: "code refused", err: enroll.ErrCodeRejected,
			fail: "Could not enroll: the server did not accept the code; check that this computer's clock is right."},
		{name: "unreachable", err: errors.New("enroll: cannot reach the server: connection refused"),
			fail: "Could not enroll: cannot reach the server: connection refused."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fe := &fakeEnroller{acc: tc.acc, err: tc.err}
			h, f := enrollHarness(t, fe)
			var pending func()
			h.app.async = func(fn func()) { pending = fn }
			f.uri.SetText("  " + enrollLink + "\n")
			f.submitURI()

			// Redeeming runs off the UI goroutine, with progress shown.
			if pending == nil {
				t.Fatal("the link was redeemed on the UI goroutine")
			}
			if !f.enrolling.Visible() || !f.uriAdd.Disabled() {
				t.Error("no progress while the link is redeemed")
			}
			h.app.async = func(fn func()) { fn() } // the list's reload after it
			pending()
			if f.enrolling.Visible() || f.uriAdd.Disabled() {
				t.Error("progress still shown after the answer")
			}
			if !slices.Equal(fe.links, []string{enrollLink}) || !fe.forces[0] {
				t.Fatalf("enroller got %q force %v", fe.links, fe.forces)
			}

			if tc.err != nil {
				if len(h.store.accts) != 3 {
					t.Error("an account was stored after a failure")
				}
				if f.uriMsg.Text != tc.fail {
					t.Errorf("tab message %q, want %q", f.uriMsg.Text, tc.fail)
				}
				got := texts(overlay(t, h.w))
				if !strings.Contains(got, tc.fail) {
					t.Errorf("error dialog:\n%s\nwant %q", got, tc.fail)
				}
				if strings.Contains(got, linkToken) || strings.Contains(f.uriMsg.Text, linkToken) {
					t.Error("the message repeats the token")
				}
				return
			}
			if len(h.store.accts) != 4 {
				t.Fatalf("%d accounts, want 4", len(h.store.accts))
			}
			if !strings.Contains(h.rows(), tc.acc.Name) || strings.Count(h.rows(), "\n") != 3 {
				t.Errorf("the enrolled account is not listed:\n%s", h.rows())
			}
			if !h.app.status.Visible() || h.app.status.Text != tc.status {
				t.Errorf("status %q, want %q", h.app.status.Text, tc.status)
			}
			if h.w.Canvas().Overlays().Top() != nil {
				t.Error("the add dialog is still open after enrolling")
			}
		})
	}
}

// TestEnrollLinkRefusedBeforeRedeeming: an http(s) link that is not an
// enrollment link is named as such and never sent anywhere.
func TestEnrollLinkRefusedBeforeRedeeming(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://auth.example.com/other#" + linkToken, "the link must end in /enroll#TOKEN"},
		{"https://auth.example.com/enroll#short", "the token is missing or cut short"},
		{"http://user:pw@auth.example.com/enroll#" + linkToken, "not an http(s) link"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			fe := &fakeEnroller{}
			_, f := enrollHarness(t, fe)
			f.uri.SetText(tc.in)
			f.submitURI()
			if len(fe.links) != 0 {
				t.Fatal("a malformed link was redeemed")
			}
			if !f.uriMsg.Visible() || !strings.HasPrefix(f.uriMsg.Text, "This link cannot be added: it is neither an otpauth:// link nor an enrollment link (") ||
				!strings.Contains(f.uriMsg.Text, tc.want) {
				t.Errorf("message %q, want it to say %q", f.uriMsg.Text, tc.want)
			}
			if strings.Contains(f.uriMsg.Text, linkToken) {
				t.Error("the message repeats the token")
			}
		})
	}
}

// TestEnrollLinkFromClipboard: an enrollment link on the clipboard is
// offered in the Link tab, and Add redeems it; other http(s) text is not.
func TestEnrollLinkFromClipboard(t *testing.T) {
	for _, tc := range []struct {
		clip    string
		offered bool
	}{
		{enrollLink, true},
		{"'" + enrollLink + "'", true},
		{"https://example.com/", false},
		{"https://auth.example.com/enroll#" + linkToken[:10], false},
	} {
		t.Run(tc.clip, func(t *testing.T) {
			fe := &fakeEnroller{acc: Account{Issuer: "ACME", Name: "grace"}}
			h := newHarness(t, Keyring, seedThree)
			h.app.deps.Enroll = fe.enroll
			fyne.CurrentApp().Clipboard().SetContent(tc.clip)
			h.app.showAdd()
			d := overlay(t, h.w)
			var uri *widget.Entry
			for _, e := range entriesIn(d) {
				if e.MultiLine {
					uri = e
				}
			}
			if uri == nil {
				t.Fatal("no link field in the add dialog")
			}
			if !tc.offered {
				if uri.Text != "" {
					t.Errorf("offered %q", uri.Text)
				}
				return
			}
			if uri.Text != tc.clip {
				t.Fatalf("link field %q, want the clipboard's link", uri.Text)
			}
			test.Tap(button(t, d, "Add")) // the Link tab's, the first
			if len(fe.links) != 1 || len(h.store.accts) != 4 {
				t.Fatalf("Add did not enroll: calls %d, %d accounts", len(fe.links), len(h.store.accts))
			}
			if !strings.Contains(h.app.status.Text, "Enrolled ACME:grace") {
				t.Errorf("status %q", h.app.status.Text)
			}
		})
	}
}

// TestEnrollLinkFromQR: a helpdesk QR carrying the link (not the key) is
// redeemed like a pasted link.
func TestEnrollLinkFromQR(t *testing.T) {
	fe := &fakeEnroller{acc: Account{Issuer: "ACME", Name: "heidi"}}
	h, f := enrollHarness(t, fe)
	h.app.deps.DecodeQR = func(io.Reader) ([]string, error) { return []string{enrollLink}, nil }
	f.addFromImage(strings.NewReader("png bytes"))
	if !slices.Equal(fe.links, []string{enrollLink}) || len(h.store.accts) != 4 {
		t.Fatalf("calls %q, %d accounts", fe.links, len(h.store.accts))
	}
	if f.tabs.SelectedIndex() != 0 {
		t.Error("the Link tab, which shows the progress, was not selected")
	}
}

// TestHelpdeskButton: the toolbar's account button opens the Helpdesk view.
func TestHelpdeskButton(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	home := t.TempDir()
	h.app.deps.Helpdesk.Getenv = func(k string) string {
		if k == "LATCHKEY_HOME" {
			return home
		}
		return ""
	}
	var btn *toolButton
	for _, o := range test.LaidOutObjects(h.w.Content()) {
		if b, ok := o.(*toolButton); ok && b.Icon == theme.AccountIcon() {
			btn = b
		}
	}
	if btn == nil {
		t.Fatal("no Helpdesk button in the toolbar")
	}
	test.Tap(btn)
	var titles []string
	for _, w := range fyne.CurrentApp().Driver().AllWindows() {
		titles = append(titles, w.Title())
	}
	if !slices.Contains(titles, "Latchkey Helpdesk") {
		t.Errorf("windows after the tap: %q", titles)
	}
}

func TestVersion(t *testing.T) {
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) { return &debug.BuildInfo{Main: debug.Module{Version: v}}, true }
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		stamped string
		info    func() (*debug.BuildInfo, bool)
		want    string
	}{
		{"v1.2.3", info("v0.0.0-x"), "v1.2.3"},
		{"v1.2.3-4-gabcdef-dirty", none, "v1.2.3-4-gabcdef-dirty"},
		{"", info("v0.9.0"), "v0.9.0"},
		{"", info("(devel)"), "dev"},
		{" ", none, "dev"},
	}
	for _, tc := range tests {
		if got := version(tc.stamped, tc.info); got != tc.want {
			t.Errorf("version(%q) = %q, want %q", tc.stamped, got, tc.want)
		}
	}
}

// TestEnrollLinkEndToEnd redeems a real server's link through the dialog
// into a real file store, and the server then lists the credential as
// verified.
func TestEnrollLinkEndToEnd(t *testing.T) {
	ctx := context.Background()
	url := hdServer(t)
	admin := enroll.Admin{Server: url, Token: hdToken}
	created, err := admin.Create(ctx, "ivan", "Laptop")
	if err != nil {
		t.Fatal(err)
	}
	if created.EnrollmentLink == "" {
		t.Fatal("the server returned no enrollment link")
	}

	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(420, 400))
	home := t.TempDir()
	pass := func() ([]byte, error) { return []byte("correct horse battery"), nil }
	var real *store.Store
	u := New(w, Deps{
		Clock: &fakeClock{now: time.Now()},
		Open: func(ctx context.Context, _ Backend, _ Prompts) (Store, error) {
			s, err := store.Open(ctx, store.Options{Home: home, Backend: store.File, Passphrase: pass, WorkFactor: 2})
			real = s
			return s, err
		},
		Enroll: DefaultEnroller(nil),
	})
	u.async = func(f func()) { f() }
	u.Start(ctx)
	t.Cleanup(u.Stop)
	if real == nil || u.store == nil {
		t.Fatal("the store did not open")
	}

	f := u.newAddForm()
	f.uri.SetText(created.EnrollmentLink)
	f.submitURI()
	if f.uriMsg.Visible() {
		t.Fatalf("enrolling failed: %s", f.uriMsg.Text)
	}
	if !strings.Contains(u.status.Text, "the server confirmed its first code") {
		t.Errorf("status %q", u.status.Text)
	}
	accts, err := real.List(ctx)
	if err != nil || len(accts) != 1 {
		t.Fatalf("stored %v %v", accts, err)
	}
	if rows := strings.Join(listed(w), "\n"); !strings.Contains(rows, accts[0].Name) {
		t.Errorf("not listed:\n%s", rows)
	}
	sec, err := real.Secret(ctx, accts[0].ID)
	if err != nil || sec.Base32() != strings.ToUpper(strings.TrimRight(created.Secret, "=")) {
		t.Errorf("the stored secret is not the server's (%v)", err)
	}
	cs, err := admin.Credentials(ctx, "ivan")
	if err != nil || len(cs) != 1 || cs[0].ID != created.ID || !cs[0].Verified {
		t.Fatalf("server credentials %+v %v, want %s verified", cs, err, created.ID)
	}

	// The link is spent: a second redemption fails plainly, stores nothing.
	f = u.newAddForm()
	f.uri.SetText(created.EnrollmentLink)
	f.submitURI()
	if !strings.Contains(f.uriMsg.Text, "invalid, expired or already used") {
		t.Errorf("second redemption: %q", f.uriMsg.Text)
	}
	if accts, _ := real.List(ctx); len(accts) != 1 {
		t.Errorf("%d accounts after the spent link", len(accts))
	}
}

// TestEnrollingImage: the Link tab while a link is redeemed.
func TestEnrollingImage(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.app.deps.Enroll = (&fakeEnroller{}).enroll
	h.app.async = func(func()) {} // the answer never comes
	h.w.Resize(fyne.NewSize(540, 620))
	fyne.CurrentApp().Clipboard().SetContent(enrollLink)
	h.app.showAdd()
	test.Tap(button(t, overlay(t, h.w), "Add"))
	h.w.Resize(fyne.NewSize(540, 621)) // lay out again, as the GL driver does on the next frame
	h.w.Resize(fyne.NewSize(540, 620))
	goldenImage(t, "add_enrolling.png", h.w.Canvas())
}
