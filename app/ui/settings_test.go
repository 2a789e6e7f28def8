package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
	"latchkey/core/store"
)

func selects(o fyne.CanvasObject) []*widget.Select {
	var out []*widget.Select
	for _, x := range test.LaidOutObjects(o) {
		if s, ok := x.(*widget.Select); ok {
			out = append(out, s)
		}
	}
	return out
}

func TestSettings(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.app.showSettings()
	d := overlay(t, h.w)
	got := texts(d)
	for _, want := range []string{"In the system keyring.", "[Move to an encrypted file…]",
		"Not checked: no enrollment server is configured"} {
		if !strings.Contains(got, want) {
			t.Errorf("settings lack %q:\n%s", want, got)
		}
	}
	s := selects(d)
	clip, lock := s[0], s[1]
	if clip.Selected != "After 30 s" || lock.Selected != "After 5 min idle" || !lock.Disabled() {
		t.Errorf("defaults: clipboard %q, lock %q (disabled %v)", clip.Selected, lock.Selected, lock.Disabled())
	}
	clip.SetSelected("After 10 s")
	if got := h.app.clipboardClear(); got != 10*time.Second {
		t.Errorf("clipboard setting %s, want 10s", got)
	}
	if c := h.app.settings.ClipboardClear; c == nil || *c != 10 {
		t.Errorf("the clipboard setting is not in Settings: %v", c)
	}
	for _, x := range test.LaidOutObjects(d) {
		if r, ok := x.(*widget.RadioGroup); ok {
			r.SetSelected("Dark")
		}
	}
	if h.app.settings.Theme != "dark" || fyne.CurrentApp().Settings().Theme().Color(theme.ColorNameBackground, theme.VariantLight) !=
		theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark) {
		t.Error("the dark theme was not applied")
	}
}

func TestSettingsMigrateToFile(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.app.confirmMigrate(File)
	d := overlay(t, h.w)
	e := entriesIn(d)
	e[0].SetText("correct horse")
	e[1].SetText("correct horse")
	test.Tap(button(t, d, "OK"))
	if h.store.migrated != File {
		t.Fatalf("not migrated: %q", h.store.migrated)
	}
	if !strings.Contains(h.app.status.Text, "Secrets moved to the file store.") {
		t.Errorf("status %q", h.app.status.Text)
	}
}

func TestClockCheck(t *testing.T) {
	tests := []struct {
		skew time.Duration
		err  error
		want string
	}{
		{2 * time.Second, nil, "OK: the system clock is within 2s"},
		{-95 * time.Second, nil, "Warning: the system clock is 1m35s off"},
		{0, errors.New("get https://otp.example/healthz: connection refused"), "Could not check the clock: get https://otp.example/healthz: connection refused."},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.skew, tc.err), func(t *testing.T) {
			h := newHarness(t, Keyring, seedThree)
			h.app.deps.ClockSkew = func(context.Context) (time.Duration, error) { return tc.skew, tc.err }
			if got := texts(h.app.clockCheck()); !strings.HasPrefix(got, tc.want) {
				t.Errorf("clock check says %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKeyringUnavailableOffersFileStore(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(420, 400))
	var opened []Backend
	file := newFakeStore(File)
	u := New(w, Deps{
		Clock: &fakeClock{now: t0},
		Open: func(_ context.Context, b Backend, p Prompts) (Store, error) {
			opened = append(opened, b)
			if b != File {
				return nil, fmt.Errorf("store: open: %w", store.ErrKeyringUnavailable)
			}
			return file, nil
		},
		Passphrase: func() ([]byte, error) { return []byte("pw"), nil },
	})
	u.async = func(f func()) { f() }
	u.Start(context.Background())
	t.Cleanup(u.Stop)
	d := overlay(t, w)
	if got := texts(d); !strings.Contains(got, "The system keyring (Secret Service) is not available") {
		t.Fatalf("dialog says:\n%s", got)
	}
	if got := texts(w.Content()); !strings.Contains(got, "[Use the encrypted file store]") {
		t.Errorf("the window behind the dialog offers nothing:\n%s", got)
	}
	test.Tap(button(t, d, "Use the encrypted file store"))
	if fmt.Sprint(opened) != "[ file]" || u.store != file {
		t.Errorf("opened %q; store %v", opened, u.store)
	}
}

func TestOpenErrorOffersRetry(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, nil)
	fail := true
	u := New(w, Deps{Clock: &fakeClock{now: t0}, Open: func(context.Context, Backend, Prompts) (Store, error) {
		if fail {
			return nil, fmt.Errorf("store: open: %w", store.ErrBadPassphrase)
		}
		return newFakeStore(File), nil
	}})
	u.async = func(f func()) { f() }
	u.Start(context.Background())
	if got := texts(w.Content()); !strings.Contains(got, "Could not open your accounts: the passphrase is wrong.") {
		t.Fatalf("window says:\n%s", got)
	}
	fail = false
	test.Tap(button(t, w.Content(), "Try again"))
	if u.store == nil {
		t.Error("retry did not open the store")
	}
}

func TestIdleLock(t *testing.T) {
	h := newHarness(t, File, seedThree)
	h.app.deps.Open = func(_ context.Context, b Backend, p Prompts) (Store, error) {
		pw, _ := p.Passphrase()
		if string(pw) != "right" {
			return nil, fmt.Errorf("store: open vault: %w", store.ErrBadPassphrase)
		}
		h.store.closed = false
		return h.store, nil
	}
	test.Tap(h.row(0)) // copies; the clipboard clears in 30 s
	h.clock.advance(4 * time.Minute)
	if h.app.store == nil {
		t.Fatal("locked before 5 idle minutes")
	}
	h.clock.advance(time.Minute)
	if h.app.store != nil || !h.store.closed {
		t.Fatal("not locked after 5 idle minutes")
	}
	if got := fyne.CurrentApp().Clipboard().Content(); got != "" {
		t.Errorf("clipboard after the lock %q", got)
	}
	if got := texts(h.w.Content()); !strings.Contains(got, "Latchkey is locked") {
		t.Fatalf("lock screen:\n%s", got)
	}
	if strings.Contains(h.rows(), "081") {
		t.Error("codes still shown while locked")
	}
	pass := entriesIn(h.w.Content())[0]
	test.Type(pass, "wrong")
	test.Tap(button(t, h.w.Content(), "Unlock"))
	if got := texts(h.w.Content()); !strings.Contains(got, "Could not unlock: the passphrase is wrong.") {
		t.Errorf("after a wrong passphrase:\n%s", got)
	}
	test.Type(pass, "right")
	test.Tap(button(t, h.w.Content(), "Unlock"))
	sec, _ := otp.DecodeSecret(rfcSecret)
	want, _ := otp.TOTPCode(sec, h.clock.Now(), otp.Options{})
	if h.app.store == nil || !strings.Contains(h.rows(), otp.Group(want)) {
		t.Errorf("not unlocked:\n%s", h.rows())
	}
}

func TestKeyringNeverLocks(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.clock.advance(2 * time.Hour)
	if h.app.store == nil {
		t.Error("the keyring store locked")
	}
}

// The store reports a wrong passphrase or an unavailable keyring when it is
// first read, not when it is opened: both must reach the start screen.
func TestLoadErrorsAtStart(t *testing.T) {
	tests := []struct {
		name                  string
		failList, failSecrets error
		want                  string
		dialog                bool
	}{
		{"wrong passphrase", fmt.Errorf("store: %w", store.ErrBadPassphrase), nil,
			"Could not open your accounts: the passphrase is wrong.", false},
		{"keyring locked", nil, fmt.Errorf("store: secrets: %w", store.ErrKeyringUnavailable),
			"The system keyring (Secret Service) is not available", true},
		{"corrupt", fmt.Errorf("store: %w", store.ErrCorrupt), nil, "a store file is damaged", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			test.NewTempApp(t)
			w := test.NewTempWindow(t, nil)
			s := newFakeStore(Keyring)
			seedThree(s)
			s.failList, s.failSecrets = tc.failList, tc.failSecrets
			u := New(w, Deps{Clock: &fakeClock{now: t0}, Open: func(context.Context, Backend, Prompts) (Store, error) {
				s.closed = false
				return s, nil
			}})
			u.async = func(f func()) { f() }
			u.Start(context.Background())
			if got := texts(w.Content()); !strings.Contains(got, tc.want) {
				t.Errorf("start screen says:\n%s", got)
			}
			if !s.closed || u.store != nil {
				t.Error("the store that failed to load was kept open")
			}
			if tc.dialog && !strings.Contains(texts(overlay(t, w)), tc.want) {
				t.Error("no dialog")
			}
			s.failList, s.failSecrets = nil, nil
			button(t, w.Content(), map[bool]string{false: "Try again", true: "Use the encrypted file store"}[tc.dialog]).OnTapped()
			if u.store == nil || len(u.shown) != 3 {
				t.Errorf("no accounts after the retry: %v", u.store)
			}
		})
	}
}

// isDark reports whether the app's theme draws the dark background
// whatever the system asks for.
func isDark() bool {
	return fyne.CurrentApp().Settings().Theme().Color(theme.ColorNameBackground, theme.VariantLight) ==
		theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark)
}

// Issue 14: the theme lives in the desktop's Settings (desktop.json in
// LATCHKEY_HOME), not in Fyne's preferences; a theme an earlier version
// left there is used until one is chosen, then removed.
func TestThemeLivesInSettings(t *testing.T) {
	test.NewTempApp(t)
	prefs := fyne.CurrentApp().Preferences()
	prefs.SetString(prefTheme, "dark") // left by an earlier version
	var saved []Settings
	var saveErr error
	start := func(loaded Settings) (*App, fyne.Window) {
		w := test.NewTempWindow(t, nil)
		w.Resize(defaultSize)
		s := newFakeStore(Keyring)
		u := New(w, Deps{
			Clock:        &fakeClock{now: t0},
			Open:         func(context.Context, Backend, Prompts) (Store, error) { return s, nil },
			LoadSettings: func() (Settings, error) { return loaded, nil },
			SaveSettings: func(s Settings) error {
				if saveErr == nil {
					saved = append(saved, s)
				}
				return saveErr
			},
		})
		u.async = func(f func()) { f() }
		u.Start(context.Background())
		t.Cleanup(u.Stop)
		return u, w
	}
	u, w := start(Settings{})
	if u.theme() != "dark" || !isDark() {
		t.Fatalf("the earlier version's dark theme is not used: %q", u.theme())
	}
	choose := func(w fyne.Window, label string) {
		t.Helper()
		u.showSettings()
		for _, x := range test.LaidOutObjects(overlay(t, w)) {
			if r, ok := x.(*widget.RadioGroup); ok {
				r.SetSelected(label)
				return
			}
		}
		t.Fatal("no theme choice in the settings")
	}
	choose(w, "Light")
	if len(saved) != 1 || saved[0].Theme != "light" || isDark() {
		t.Fatalf("after choosing Light: saved %+v, dark %v", saved, isDark())
	}
	if v := prefs.String(prefTheme); v != "" {
		t.Errorf("the theme is still in Fyne's preferences: %q", v)
	}

	// The next start takes the theme from the saved settings.
	u, _ = start(Settings{Theme: "dark"})
	if u.theme() != "dark" || !isDark() {
		t.Errorf("started with the saved dark theme: %q, dark %v", u.theme(), isDark())
	}

	// A failed save says so and keeps the setting it had.
	saveErr = errors.New("disk full")
	u, w = start(Settings{Theme: "dark"})
	choose(w, "Light")
	if u.settings.Theme != "dark" {
		t.Errorf("settings after a failed save: %+v", u.settings)
	}
	var found bool
	for _, o := range w.Canvas().Overlays().List() {
		found = found || strings.Contains(texts(o), "Could not save the theme: disk full")
	}
	if !found {
		t.Error("no error shown for the failed save")
	}
}

// The clipboard time and the idle lock live in Settings too (desktop.json
// in LATCHKEY_HOME): what an earlier version left in Fyne's preferences
// is shown and used until the user chooses, then saved and removed; a
// saved "Never" (0) stays Never, not the default.
func TestTimesLiveInSettings(t *testing.T) {
	test.NewTempApp(t)
	prefs := fyne.CurrentApp().Preferences()
	prefs.SetInt(prefClipboard, 60) // left by an earlier version
	prefs.SetInt(prefLock, 15)
	var saved []Settings
	start := func(loaded Settings) (*App, []*widget.Select) {
		w := test.NewTempWindow(t, nil)
		w.Resize(defaultSize)
		s := newFakeStore(File)
		u := New(w, Deps{
			Clock:        &fakeClock{now: t0},
			Open:         func(context.Context, Backend, Prompts) (Store, error) { return s, nil },
			LoadSettings: func() (Settings, error) { return loaded, nil },
			SaveSettings: func(s Settings) error { saved = append(saved, s); return nil },
		})
		u.async = func(f func()) { f() }
		u.Start(context.Background())
		t.Cleanup(u.Stop)
		u.showSettings()
		return u, selects(overlay(t, w))
	}
	u, s := start(Settings{})
	if s[0].Selected != "After 60 s" || s[1].Selected != "After 15 min idle" || u.clipboardClear() != time.Minute {
		t.Fatalf("the earlier version's settings are not used: %q, %q", s[0].Selected, s[1].Selected)
	}
	s[0].SetSelected("Never")
	s[1].SetSelected("Never")
	last := saved[len(saved)-1]
	if last.ClipboardClear == nil || *last.ClipboardClear != 0 || last.LockMinutes == nil || *last.LockMinutes != 0 {
		t.Fatalf("saved %+v", last)
	}
	if prefs.IntWithFallback(prefClipboard, -1) != -1 || prefs.IntWithFallback(prefLock, -1) != -1 {
		t.Error("the settings are still in Fyne's preferences")
	}
	if u.idleExpired(t0.Add(24 * time.Hour)) {
		t.Error("the file store locks although the lock is set to Never")
	}

	// The next start reads them from the saved settings.
	u, s = start(last)
	if s[0].Selected != "Never" || s[1].Selected != "Never" || u.clipboardClear() != 0 || u.lockMinutes() != 0 {
		t.Errorf("after a restart: %q, %q", s[0].Selected, s[1].Selected)
	}
	// Unset, they are the defaults.
	u, s = start(Settings{})
	if s[0].Selected != "After 30 s" || s[1].Selected != "After 5 min idle" || u.lockMinutes() != 5 {
		t.Errorf("defaults: %q, %q", s[0].Selected, s[1].Selected)
	}
}
