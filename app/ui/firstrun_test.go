package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// firstRun is the app on a new, empty encrypted file store (the real
// core/store in a temporary home) whose passphrase is asked in the app's
// own dialog, with store work on real goroutines as in the product.
type firstRun struct {
	t   *testing.T
	app *App
	w   *promptWindow
	wg  sync.WaitGroup
}

func newFirstRun(t *testing.T) *firstRun {
	t.Helper()
	test.NewTempApp(t)
	r := &firstRun{t: t}
	home := t.TempDir()
	r.w = newPromptWindow(t)
	r.app = New(r.w, Deps{
		Clock: &fakeClock{now: time.Now()},
		Open: func(ctx context.Context, _ Backend, p Prompts) (Store, error) {
			return store.Open(ctx, store.Options{Home: home, Backend: store.File,
				Passphrase: p.Passphrase, NewPassphrase: p.NewPassphrase, WorkFactor: 2})
		},
	})
	r.app.async = func(f func()) {
		r.wg.Add(1)
		go func() { defer r.wg.Done(); f() }()
	}
	r.app.Start(context.Background())
	r.wg.Wait()
	t.Cleanup(func() {
		if t.Failed() {
			return // a blocked handler may hold the store: leave it
		}
		r.wg.Wait()
		r.app.Stop()
	})
	if r.app.store == nil {
		t.Fatalf("the empty file store did not open:\n%s", texts(r.w.Content()))
	}
	return r
}

// promptWindow is a test window that reports, on its prompted channel,
// each time a passphrase field takes the focus: the last thing the app's
// passphrase prompt does on the UI before it waits for the answer. On the
// test driver fyne.Do runs in the goroutine that calls it, so the store
// goroutine draws the prompt itself; the channel hands the UI back to the
// test, so the two never touch it at once (go test -race).
type promptWindow struct {
	fyne.Window
	canvas   *promptCanvas
	prompted chan struct{}
}

type promptCanvas struct {
	fyne.Canvas
	w *promptWindow
}

func newPromptWindow(t *testing.T) *promptWindow {
	w := &promptWindow{Window: test.NewTempWindow(t, nil), prompted: make(chan struct{}, 8)}
	w.canvas = &promptCanvas{Canvas: w.Window.Canvas(), w: w}
	w.Resize(defaultSize)
	return w
}

func (w *promptWindow) Canvas() fyne.Canvas { return w.canvas }

// Focus focuses o and reports a passphrase field.
func (c *promptCanvas) Focus(o fyne.Focusable) {
	c.Canvas.Focus(o)
	if e, ok := o.(*widget.Entry); ok && e.Password {
		c.w.prompted <- struct{}{}
	}
}

// prompt waits until the app shows a passphrase prompt and returns the
// dialog.
func (w *promptWindow) prompt(t *testing.T, what string) fyne.CanvasObject {
	t.Helper()
	select {
	case <-w.prompted:
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s", what)
	}
	return overlay(t, w)
}

// returns fails the test unless f returns within 20 s: f stands
// for an event handler, which runs on the UI goroutine and must never wait
// for the user.
func returns(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second): // generous: -race on a loaded machine
		t.Fatalf("%s did not return: the UI goroutine is blocked (the window would freeze for good)", what)
	}
}

// Issue 14, blocker 1: the first add to a new encrypted file store asks
// for the new passphrase; the Add button's handler must not wait for that
// answer, or the window never draws the dialog it waits for.
func TestFirstAddToNewFileStoreAsksPassphraseWithoutFreezing(t *testing.T) {
	r := newFirstRun(t)
	returns(t, "Ctrl+N", func() { r.app.showAdd() })
	d := overlay(t, r.w)
	f := entriesIn(d)
	if len(f) == 0 {
		t.Fatalf("the add dialog has no entry:\n%s", texts(d))
	}
	f[0].SetText("otpauth://totp/Slack:dave?secret=JBSWY3DPEHPK3PXP&issuer=Slack")
	add := button(t, d, "Add")
	returns(t, "the Add button", func() { test.Tap(add) })

	d = r.w.prompt(t, "new passphrase dialog")
	pass := passwordEntries(d)
	if len(pass) != 2 {
		t.Fatalf("the new passphrase is not asked twice:\n%s", texts(d))
	}
	test.Type(pass[0], "first passphrase")
	test.Type(pass[1], "first passphrase")
	ok := button(t, d, "OK")
	returns(t, "OK in the passphrase dialog", func() { test.Tap(ok) })
	r.wg.Wait()
	if rows := strings.Join(listed(r.w), "\n"); !strings.HasPrefix(rows, "Slack\tdave\t") {
		t.Errorf("after the first add the list shows %q", rows)
	}
	if !strings.Contains(r.app.status.Text, "Added Slack:dave") {
		t.Errorf("status %q", r.app.status.Text)
	}
}

// Issue 14: the toolbar's icons name themselves in a tooltip when the
// pointer rests on them.
func TestToolbarTooltips(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.w.Resize(defaultSize)
	want := map[fyne.Resource]string{
		theme.ContentAddIcon():   "Add account (Ctrl+N)",
		theme.MoreVerticalIcon(): "Account actions",
		theme.StorageIcon():      "Import/Export",
		theme.AccountIcon():      "Helpdesk",
		theme.SettingsIcon():     "Settings",
	}
	seen := 0
	for _, o := range test.LaidOutObjects(h.w.Content()) {
		b, ok := o.(*toolButton)
		if !ok {
			continue
		}
		seen++
		name, ok := want[b.Icon]
		if !ok {
			t.Errorf("toolbar button %q has an unexpected icon", b.Label)
			continue
		}
		if !strings.HasPrefix(b.Label, name) {
			t.Errorf("button label %q, want %q…", b.Label, name)
		}
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b).AddXY(b.Size().Width/2, b.Size().Height/2)
		test.MoveMouse(h.w.Canvas(), pos)
		if top := h.w.Canvas().Overlays().Top(); top != nil {
			t.Fatalf("a tooltip shows before the delay:\n%s", texts(top))
		}
		h.clock.advance(tooltipDelay)
		top := h.w.Canvas().Overlays().Top()
		if top == nil || !strings.Contains(texts(top), name) {
			t.Errorf("no tooltip %q on the button", name)
			continue
		}
		fits(t, "tooltip "+name, h.w, top)
		test.MoveMouse(h.w.Canvas(), fyne.NewPos(200, 400))
		if h.w.Canvas().Overlays().Top() != nil {
			t.Errorf("tooltip %q stays after the pointer left", name)
		}
	}
	if seen != len(want) {
		t.Errorf("%d toolbar buttons with a tooltip, want %d", seen, len(want))
	}
}

// Issue 14: Ctrl+Shift+H a second time brings the open Helpdesk window to
// the front instead of opening another (whose local server would fight
// the first over its database); once closed, it opens anew.
func TestHelpdeskShortcutFocusesTheOpenWindow(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	home := t.TempDir()
	h.app.deps.Helpdesk.Getenv = func(k string) string {
		if k == "LATCHKEY_HOME" {
			return home
		}
		return ""
	}
	helpdesks := func() (ws []fyne.Window) {
		for _, w := range fyne.CurrentApp().Driver().AllWindows() {
			if w.Title() == "Latchkey Helpdesk" {
				ws = append(ws, w)
			}
		}
		return ws
	}
	ctrlShiftH := &desktop.CustomShortcut{KeyName: fyne.KeyH, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift}
	c := h.w.Canvas().(interface{ TypedShortcut(fyne.Shortcut) })
	c.TypedShortcut(ctrlShiftH)
	c.TypedShortcut(ctrlShiftH)
	ws := helpdesks()
	if len(ws) != 1 {
		t.Fatalf("%d Helpdesk windows after Ctrl+Shift+H twice, want 1", len(ws))
	}
	ws[0].Close()
	c.TypedShortcut(ctrlShiftH)
	if n := len(helpdesks()); n != 1 {
		t.Errorf("%d Helpdesk windows after closing it and pressing again, want 1", n)
	}
}

// Issue 14: the Manual tab names the real problem with a secret.
func TestManualSecretMessages(t *testing.T) {
	tests := []struct{ secret, want string }{
		{"abc", "the secret is too short: 15 bits, at least 80 needed"},
		{"JBSW Y3DP", "the secret is too short: 40 bits, at least 80 needed"},
		{"JBSWY3DPEHPK3PX!", `secret is not valid base32: '!' is not one of the letters A-Z and digits 2-7`},
		{"JBSWY3DPEHPK3PXPA", "secret has a length base32 cannot have"},
		{"", "secret is required"},
		{"jbsw y3dp ehpk 3pxp", ""},
	}
	for _, tc := range tests {
		err := validateSecret(tc.secret)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("validateSecret(%q) = %q, want %q", tc.secret, got, tc.want)
		}
	}
}

// Issue 14: in the Delete question the destructive button is marked
// dangerous, and the highlighted default is nowhere.
func TestDeleteIsNotTheDefault(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.app.confirmDelete(0)
	d := overlay(t, h.w)
	del := button(t, d, "Delete")
	if del.Importance != widget.DangerImportance {
		t.Errorf("Delete has importance %v, want danger", del.Importance)
	}
	for _, o := range test.LaidOutObjects(d) {
		if b, ok := o.(*widget.Button); ok && b.Importance == widget.HighImportance {
			t.Errorf("button %q is the highlighted default", b.Text)
		}
	}
	test.Tap(button(t, d, "Keep"))
	if len(h.store.accts) != 3 {
		t.Error("Keep deleted the account")
	}
}

// Issue 14: in the unlock dialog Enter submits, and a wrong passphrase is
// said in the dialog, which asks again, rather than on an error screen.
func TestUnlockDialogEnterAndWrongPassphrase(t *testing.T) {
	test.NewTempApp(t)
	home := t.TempDir()
	ctx := context.Background()
	right := func() ([]byte, error) { return []byte("right passphrase"), nil }
	s, err := store.Open(ctx, store.Options{Home: home, Backend: store.File, Passphrase: right, WorkFactor: 2})
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := otp.DecodeSecret(rfcSecret)
	if _, err := s.Add(ctx, Account{Issuer: "GitHub", Name: "alice"}, sec, false); err != nil {
		t.Fatal(err)
	}
	s.Close()

	w := newPromptWindow(t)
	u := New(w, Deps{
		Clock: &fakeClock{now: time.Now()},
		Open: func(ctx context.Context, _ Backend, p Prompts) (Store, error) {
			return store.Open(ctx, store.Options{Home: home, Backend: store.File, Passphrase: p.Passphrase, NewPassphrase: p.NewPassphrase})
		},
	})
	var wg sync.WaitGroup
	u.async = func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	returns(t, "Start", func() { u.Start(ctx) })

	ask := func(pass, want string) {
		t.Helper()
		d := w.prompt(t, "unlock dialog")
		e := passwordEntries(d)
		if len(e) != 1 || !strings.Contains(texts(d), want) {
			t.Fatalf("the unlock dialog does not say %q:\n%s", want, texts(d))
		}
		test.Type(e[0], pass)
		// Enter calls OnSubmitted (Entry.TypedKey refreshes the entry after
		// it, which would race with the next prompt on the test driver).
		if e[0].OnSubmitted == nil {
			t.Fatal("Enter in the passphrase field does nothing")
		}
		returns(t, "Enter in the passphrase field", func() { e[0].OnSubmitted(e[0].Text) })
	}
	ask("wrong passphrase", "Unlock the encrypted file store")
	ask("right passphrase", "That passphrase is wrong. Try again.")
	wg.Wait()
	if u.store == nil || len(u.all) != 1 {
		t.Fatalf("not unlocked; the window shows:\n%s", texts(w.Content()))
	}
	t.Cleanup(u.Stop)
}
