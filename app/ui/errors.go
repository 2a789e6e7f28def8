package ui

import (
	"errors"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"

	"latchkey/core/otpauth"
	"latchkey/core/store"
)

// userMessage turns an error into a sentence for a person: the one place
// where the desktop app maps errors to words. Errors from core never hold a
// secret or a code, so their text can be shown.
func userMessage(what string, err error) string {
	var fe *otpauth.FieldError
	switch {
	case errors.Is(err, store.ErrKeyringUnavailable):
		return what + ": " + keyringHelp
	case errors.Is(err, store.ErrBadPassphrase):
		return what + ": the passphrase is wrong."
	case errors.Is(err, store.ErrDuplicate):
		return what + ": an account with this issuer and name already exists."
	case errors.Is(err, store.ErrNotFound):
		return what + ": the account no longer exists (it may have been removed in another window)."
	case errors.Is(err, store.ErrCorrupt):
		return what + ": a store file is damaged; it was set aside (renamed .corrupt-…) and not overwritten. Restore it from a backup."
	case errors.As(err, &fe):
		return fmt.Sprintf("%s: the link's %s is not valid: %s.", what, fe.Field, fe.Reason)
	}
	return fmt.Sprintf("%s: %v.", what, err)
}

// showError shows err in a dialog.
func (u *App) showError(what string, err error) {
	u.deps.Log.Warn(what, "err", err)
	dialog.ShowError(errors.New(userMessage(what, err)), u.w)
}

func layoutSpacer() fyne.CanvasObject { return layout.NewSpacer() }
