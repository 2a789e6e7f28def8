package ui

import (
	"context"
	"fmt"
	"image/color"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Settings are the desktop app's own settings, kept beside the store (in
// LATCHKEY_HOME) rather than in Fyne's preferences under ~/.config/fyne,
// so that one folder holds a whole Latchkey setup.
type Settings struct {
	// Theme is "system" (also when empty), "light" or "dark".
	Theme string `json:"theme,omitempty"`
	// ClipboardClear is the seconds after which a copied code leaves the
	// clipboard (nil: the default, 30; 0 never).
	ClipboardClear *int `json:"clipboard_clear_seconds,omitempty"`
	// LockMinutes is the idle time before the file store locks (nil: the
	// default, 5; 0 never).
	LockMinutes *int `json:"lock_minutes,omitempty"`
}

// Where versions before Settings kept these settings, in Fyne's
// preferences: each is read while Settings has none, and removed once
// Settings holds it.
const (
	prefClipboard = "clipboardClearSeconds"
	prefLock      = "lockMinutes"
	prefTheme     = "theme"
)

// Defaults.
const (
	defaultClipboard = 30
	defaultLock      = 5
	// skewWarn is the clock offset from which the settings warn.
	skewWarn = 10 * time.Second
)

var (
	clipboardChoices = []int{0, 10, 30, 60, 120}
	lockChoices      = []int{0, 1, 5, 15, 60}
	themeChoices     = []string{"system", "light", "dark"}
)

// clipboardClear is how long a copied code stays on the clipboard; 0
// never clears it.
func (u *App) clipboardClear() time.Duration {
	return time.Duration(settingInt(u.settings.ClipboardClear, prefClipboard, clipboardChoices, defaultClipboard)) * time.Second
}

// lockMinutes is the idle time before the file store locks; 0 never.
func (u *App) lockMinutes() int {
	return settingInt(u.settings.LockMinutes, prefLock, lockChoices, defaultLock)
}

// settingInt is a number setting: Settings' (v), else the one an earlier
// version left in Fyne's preferences under pref, else def; only one of
// choices counts.
func settingInt(v *int, pref string, choices []int, def int) int {
	if v != nil && slices.Contains(choices, *v) {
		return *v
	}
	if n := fyne.CurrentApp().Preferences().IntWithFallback(pref, -1); slices.Contains(choices, n) {
		return n
	}
	return def
}

// theme is the theme setting: Settings', else the one an earlier version
// left in Fyne's preferences, else "system".
func (u *App) theme() string {
	if slices.Contains(themeChoices, u.settings.Theme) {
		return u.settings.Theme
	}
	if v := fyne.CurrentApp().Preferences().String(prefTheme); slices.Contains(themeChoices, v) {
		return v
	}
	return "system"
}

// setTheme applies the theme name and saves it in Settings.
func (u *App) setTheme(name string) {
	applyTheme(name)
	u.saveSetting("the theme", prefTheme, func(s *Settings) { s.Theme = name })
}

// saveSetting changes one setting with set and saves Settings; once
// saved, the earlier version's preference pref goes.
func (u *App) saveSetting(what, pref string, set func(*Settings)) {
	s := u.settings
	set(&s)
	if err := u.deps.SaveSettings(s); err != nil {
		u.showError("Could not save "+what, err)
		return
	}
	u.settings = s
	fyne.CurrentApp().Preferences().RemoveValue(pref)
}

func secondsLabel(n int) string {
	if n == 0 {
		return "Never"
	}
	return fmt.Sprintf("After %d s", n)
}

func minutesLabel(n int) string {
	if n == 0 {
		return "Never"
	}
	return fmt.Sprintf("After %d min idle", n)
}

// showSettings opens the settings in a dialog.
func (u *App) showSettings() {
	d := dialog.NewCustom("Settings", "Close", container.NewVScroll(u.settingsScreen(u.w)), u.w)
	fitDialog(d, u.w, fyne.NewSize(520, 560))
	d.Show()
}

// settingsScreen holds the store backend (with migration), the clipboard
// clear time, the theme, the idle lock and the clock check.
func (u *App) settingsScreen(w fyne.Window) fyne.CanvasObject {
	clip := widget.NewSelect(labels(clipboardChoices, secondsLabel), nil)
	clip.SetSelectedIndex(max(slices.Index(clipboardChoices, int(u.clipboardClear().Seconds())), 0))
	clip.OnChanged = func(string) {
		n := clipboardChoices[clip.SelectedIndex()]
		u.saveSetting("the clipboard setting", prefClipboard, func(s *Settings) { s.ClipboardClear = &n })
	}

	th := widget.NewRadioGroup([]string{"System", "Light", "Dark"}, nil)
	th.Horizontal = true
	th.SetSelected(th.Options[max(slices.Index(themeChoices, u.theme()), 0)])
	th.OnChanged = func(s string) { u.setTheme(themeChoices[max(slices.Index(th.Options, s), 0)]) }

	lock := widget.NewSelect(labels(lockChoices, minutesLabel), nil)
	lock.SetSelectedIndex(max(slices.Index(lockChoices, u.lockMinutes()), 0))
	lock.OnChanged = func(string) {
		n := lockChoices[lock.SelectedIndex()]
		u.saveSetting("the lock setting", prefLock, func(s *Settings) { s.LockMinutes = &n })
	}
	lockHint := "Locks the encrypted file store; the passphrase unlocks it."
	backend := Backend("")
	if u.store != nil {
		backend = u.store.Backend()
	}
	if backend != File {
		lock.Disable()
		lockHint = "Only for the encrypted file store: the keyring locks with your session."
	}

	form := widget.NewForm(
		widget.NewFormItem("Secrets", u.backendSetting(backend)),
		formItemWithHint("Clear clipboard", clip, "A copied code is removed if the clipboard still holds it."),
		widget.NewFormItem("Theme", th),
		formItemWithHint("Lock", lock, lockHint),
		widget.NewFormItem("Clock", u.clockCheck()),
		widget.NewFormItem("Sign-ins", u.signinSetting()), // pairing.go
	)
	// Labels above the settings: beside them, a window of the default
	// width leaves the settings too little room and cuts them.
	form.Orientation = widget.Vertical
	return form
}

func labels(ns []int, f func(int) string) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = f(n)
	}
	return out
}

// backendSetting names the store backend and offers the migration to the
// other one.
func (u *App) backendSetting(b Backend) fyne.CanvasObject {
	var text, button string
	var to Backend
	switch b {
	case Keyring:
		text, button, to = "In the system keyring.", "Move to an encrypted file…", File
	case File:
		text, button, to = "In an encrypted file (passphrase).", "Move to the system keyring…", Keyring
	default:
		return widget.NewLabel("Not open.")
	}
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return container.NewVBox(l, container.NewHBox(widget.NewButton(button, func() { u.confirmMigrate(to) })))
}

func (u *App) confirmMigrate(to Backend) {
	migrate := func(pass []byte) {
		u.background(func(ctx context.Context, s Store) error {
			return s.Migrate(ctx, to, func() ([]byte, error) { return pass, nil })
		}, func(err error) {
			if err != nil {
				u.showError("Could not move the secrets", err)
				return
			}
			u.note(fmt.Sprintf("Secrets moved to the %s store.", to))
		})
	}
	if to == File {
		u.passphraseDialog("New passphrase for the file store", "At least 8 characters", true, "", func(p []byte, ok bool) {
			if ok {
				migrate(p)
			}
		})
		return
	}
	dialog.ShowConfirm("Move to the keyring?",
		"Every secret moves from the encrypted file into the system keyring, and the file store is emptied.",
		func(ok bool) {
			if ok {
				migrate(nil)
			}
		}, u.w)
}

// clockCheck reports how far the system clock is from the enrollment
// server's, or says that it is not checked.
func (u *App) clockCheck() fyne.CanvasObject {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	if u.deps.ClockSkew == nil {
		l.SetText("Not checked: no enrollment server is configured. Codes are right only while " +
			"the system clock is (to within a few seconds); keep network time (NTP) on.")
		return l
	}
	l.SetText("Checking against the enrollment server…")
	check := u.deps.ClockSkew
	u.async(func() {
		ctx, cancel := context.WithTimeout(u.ctx, 5*time.Second)
		defer cancel()
		skew, err := check(ctx)
		fyne.Do(func() { l.SetText(skewText(skew, err)); l.Refresh() })
	})
	return l
}

func skewText(skew time.Duration, err error) string {
	if err != nil {
		return userMessage("Could not check the clock", err)
	}
	off := skew.Round(time.Second)
	if off.Abs() >= skewWarn {
		return fmt.Sprintf("Warning: the system clock is %s off the enrollment server's; codes may be refused. Fix the clock (turn on NTP).", off.Abs())
	}
	return fmt.Sprintf("OK: the system clock is within %s of the enrollment server's.", max(off.Abs(), time.Second))
}

// variantTheme is the default theme held to one variant.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

// Color returns the colour of name in the held variant.
func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

func applyTheme(name string) {
	s := fyne.CurrentApp().Settings()
	switch name {
	case "light":
		s.SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantLight})
	case "dark":
		s.SetTheme(variantTheme{theme.DefaultTheme(), theme.VariantDark})
	default:
		s.SetTheme(theme.DefaultTheme())
	}
}

func formItemWithHint(label string, o fyne.CanvasObject, hint string) *widget.FormItem {
	it := widget.NewFormItem(label, o)
	it.HintText = hint
	return it
}
