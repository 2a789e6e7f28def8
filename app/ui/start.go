package ui

import (
	"errors"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
	"latchkey/core/store"
)

// errCancelled is returned by the passphrase prompt when the user cancels.
var errCancelled = errors.New("ui: cancelled")

// open opens the store with backend b; it runs off the UI goroutine.
func (u *App) open(b Backend) {
	p := Prompts{Passphrase: u.deps.Passphrase, NewPassphrase: u.deps.Passphrase}
	asked := false // the passphrase was typed, so a wrong one is asked again
	wrong := ""    // why the last one typed was refused, shown in the dialog
	var typed []byte
	if p.Passphrase == nil {
		// Asked once a try: when the agent could not start after it was
		// given the passphrase, the store opens the vault with the same.
		p.Passphrase = func() ([]byte, error) {
			if typed != nil {
				return typed, nil
			}
			asked = true
			b, err := u.askPassphrase("Unlock the encrypted file store", "Passphrase of your Latchkey file store", false, wrong)
			if err == nil {
				typed = b
			}
			return b, err
		}
		p.NewPassphrase = func() ([]byte, error) {
			return u.askPassphrase("Choose a passphrase for the new file store", "At least 8 characters", true, "")
		}
	}
	l, err := u.openAndLoad(b, p)
	for asked && errors.Is(err, store.ErrBadPassphrase) {
		asked, wrong, typed = false, "That passphrase is wrong. Try again.", nil
		l, err = u.openAndLoad(b, p)
	}
	if _, ok := l.store.(*agentStore); ok {
		clear(typed) // the agent has it: the window keeps no copy
	}
	fyne.Do(func() {
		if err != nil {
			u.openFailed(b, err)
			return
		}
		u.showMain(l)
	})
}

// openAndLoad opens the store and loads it (off the UI goroutine).
func (u *App) openAndLoad(b Backend, p Prompts) (loaded, error) {
	s, err := u.deps.Open(u.ctx, b, p)
	if err != nil {
		return loaded{}, err
	}
	return load(u.ctx, s)
}

// openFailed explains why the store did not open and offers a way on: the
// file store when the keyring is unavailable, another try otherwise.
func (u *App) openFailed(b Backend, err error) {
	retry := func() {
		u.w.SetContent(messageScreen("Opening your accounts…", nil, ""))
		u.async(func() { u.open(b) })
	}
	switch {
	case errors.Is(err, store.ErrKeyringUnavailable):
		useFile := func() {
			u.w.SetContent(messageScreen("Opening the encrypted file store…", nil, ""))
			u.async(func() { u.open(File) })
		}
		u.w.SetContent(messageScreen(keyringHelp, useFile, "Use the encrypted file store"))
		u.keyringDialog(useFile)
	case errors.Is(err, store.ErrBadPassphrase):
		// A passphrase from the environment was wrong: ask from now on.
		u.deps.Passphrase = nil
		u.w.SetContent(messageScreen(userMessage("Could not open your accounts", err), retry, "Try again"))
	case errors.Is(err, errCancelled):
		u.w.SetContent(messageScreen("Latchkey needs the passphrase to show your accounts.", retry, "Enter the passphrase"))
	default:
		u.w.SetContent(messageScreen(userMessage("Could not open your accounts", err), retry, "Try again"))
	}
}

// keyringDialog asks, at the first start without a keyring, whether to
// use the encrypted file store. Its text wraps and its two buttons are
// stacked, so that it fits a narrow window.
func (u *App) keyringDialog(useFile func()) {
	msg := widget.NewLabel(keyringHelp + "\n\nUse the encrypted file store now?")
	msg.Wrapping = fyne.TextWrapWord
	var d dialog.Dialog
	yes := widget.NewButtonWithIcon("Use the encrypted file store", theme.ConfirmIcon(), func() { d.Hide(); useFile() })
	yes.Importance = widget.HighImportance
	no := widget.NewButtonWithIcon("Not now", theme.CancelIcon(), func() { d.Hide() })
	d = dialog.NewCustomWithoutButtons("Keyring unavailable", container.NewVBox(msg, yes, no), u.w)
	fitDialog(d, u.w, fyne.NewSize(400, 0))
	d.Show()
}

const keyringHelp = "The system keyring (Secret Service) is not available or is locked, so Latchkey " +
	"cannot read the secrets kept there. Unlock your keyring and restart Latchkey, or keep your " +
	"secrets in Latchkey's encrypted file store, protected by a passphrase."

// askPassphrase shows a passphrase dialog and waits for the answer; it must
// be called off the UI goroutine. confirm asks twice (a new passphrase);
// problem, when set, says in the dialog why it asks again.
func (u *App) askPassphrase(title, hint string, confirm bool, problem string) ([]byte, error) {
	type answer struct {
		p   []byte
		err error
	}
	ch := make(chan answer, 1)
	fyne.Do(func() {
		u.passphraseDialog(title, hint, confirm, problem, func(p []byte, ok bool) {
			if !ok {
				ch <- answer{err: errCancelled}
				return
			}
			ch <- answer{p: p}
		})
	})
	a := <-ch
	return a.p, a.err
}

// passphraseDialog asks for a passphrase (twice when confirm) and calls
// done with it, or with ok false when cancelled. Enter submits (from the
// first field of two, it moves to the second); problem, when set, shows
// in red under the fields.
func (u *App) passphraseDialog(title, hint string, confirm bool, problem string, done func(p []byte, ok bool)) {
	p1 := widget.NewPasswordEntry()
	p1.SetPlaceHolder(hint)
	items := []*widget.FormItem{widget.NewFormItem("Passphrase", p1)}
	p2 := widget.NewPasswordEntry()
	if confirm {
		p1.Validator = func(s string) error {
			if len(s) < 8 {
				return errors.New("use at least 8 characters")
			}
			return nil
		}
		p2.Validator = func(s string) error {
			if s != p1.Text {
				return errors.New("the two passphrases differ")
			}
			return nil
		}
		items = append(items, widget.NewFormItem("Again", p2))
	}
	if problem != "" {
		msg := wrapped(problem)
		msg.Importance = widget.DangerImportance
		items = append(items, widget.NewFormItem("", msg))
	}
	d := dialog.NewForm(title, "OK", "Cancel", items, func(ok bool) {
		done([]byte(p1.Text), ok)
	}, u.w)
	if confirm {
		p1.OnSubmitted = func(string) { u.w.Canvas().Focus(p2) }
		p2.OnSubmitted = func(string) { d.Submit() }
	} else {
		p1.OnSubmitted = func(string) { d.Submit() }
	}
	fitDialog(d, u.w, fyne.NewSize(380, d.MinSize().Height))
	d.Show()
	u.w.Canvas().Focus(p1)
}

// idleExpired reports whether the file store has been idle for the lock
// setting's minutes (never on the keyring, or with the setting at 0).
func (u *App) idleExpired(now time.Time) bool {
	if u.store == nil || u.store.Backend() != File {
		return false
	}
	m := u.lockMinutes()
	return m > 0 && now.Sub(u.active) >= time.Duration(m)*time.Minute
}

// lock closes the store, forgets the generators and codes, clears a code
// left on the clipboard and asks for the passphrase again. An agent
// behind the store is locked too (the other faces ask again as well), so
// that unlocking checks the passphrase.
func (u *App) lock() {
	u.stopListening()
	if u.stopTick != nil {
		u.stopTick()
	}
	if s := u.store; s != nil {
		u.store = nil
		u.async(func() {
			lockAgent(u.ctx, s)
			_ = s.Close()
		})
	}
	wipe(u.gens)
	u.gens = map[string]*otp.Generator{}
	u.hotp = map[string]string{}
	u.all, u.shown, u.list = nil, nil, nil
	u.clearClipboard()
	u.w.SetContent(u.lockScreen(u.w))
}

// lockScreen asks for the file store's passphrase to unlock.
func (u *App) lockScreen(w fyne.Window) fyne.CanvasObject {
	pass := widget.NewPasswordEntry()
	pass.SetPlaceHolder("Passphrase")
	msg := widget.NewLabel("")
	msg.Importance = widget.DangerImportance
	msg.Hide()
	var unlock *widget.Button
	submit := func() {
		p := []byte(pass.Text)
		unlock.Disable()
		u.async(func() {
			l, err := u.openAndLoad(File, Prompts{Passphrase: func() ([]byte, error) { return p, nil }})
			fyne.Do(func() {
				unlock.Enable()
				if err != nil {
					pass.SetText("")
					msg.SetText(userMessage("Could not unlock", err))
					msg.Show()
					return
				}
				u.showMain(l)
			})
		})
	}
	pass.OnSubmitted = func(string) { submit() }
	unlock = widget.NewButton("Unlock", submit)
	unlock.Importance = widget.HighImportance
	title := widget.NewLabelWithStyle("Latchkey is locked", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	hint := widget.NewLabel("It locked (idle, 'latchkey lock' or the session's lock). Enter the passphrase of the encrypted file store.")
	hint.Wrapping = fyne.TextWrapWord
	hint.Alignment = fyne.TextAlignCenter
	box := container.NewVBox(title, hint, pass, unlock, msg)
	w.Canvas().Focus(pass)
	return container.NewPadded(container.NewCenter(container.NewGridWrap(fyne.NewSize(340, box.MinSize().Height), box)))
}

// messageScreen is a centred message with an optional button.
func messageScreen(text string, action func(), label string) fyne.CanvasObject {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	l.Alignment = fyne.TextAlignCenter
	box := container.NewVBox(l)
	if action != nil {
		b := widget.NewButton(label, action)
		b.Importance = widget.HighImportance
		box.Add(container.NewCenter(b))
	}
	return atLeastMinWindow(container.NewPadded(container.NewVBox(layoutSpacer(), box, layoutSpacer())))
}
