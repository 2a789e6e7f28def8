package ui

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/label"
	"latchkey/core/otp"
)

// warnBefore is how long before a period ends the countdown turns red and
// the next code appears.
const warnBefore = 5 * time.Second

// accountsScreen is the main window: a search field and toolbar above the
// account list, and a status line for confirmations.
func (u *App) accountsScreen(w fyne.Window) fyne.CanvasObject {
	u.search = newSearchEntry(u)
	u.search.SetPlaceHolder("Search (type anywhere, Ctrl+F)")
	u.search.OnChanged = func(string) { u.touch(); u.filter() }

	u.list = widget.NewList(
		func() int { return len(u.shown) },
		func() fyne.CanvasObject { return newCodeRow() },
		func(i widget.ListItemID, o fyne.CanvasObject) { u.bindRow(i, o.(*codeRow)) },
	)
	u.empty = widget.NewLabel("")
	u.empty.Alignment = fyne.TextAlignCenter
	u.empty.Wrapping = fyne.TextWrapWord
	u.empty.Hide()
	u.status = widget.NewLabel("")
	u.status.Wrapping = fyne.TextWrapWord // never cut: it may name a long account
	u.status.Hide()

	// Icons, each named by a tooltip (toolbutton.go).
	clk := u.deps.Clock
	add := newToolButton(theme.ContentAddIcon(), "Add account (Ctrl+N)", clk, func() { u.showAdd() })
	var more *toolButton
	more = newToolButton(theme.MoreVerticalIcon(), "Account actions: copy, rename, tags, move, QR, delete", clk, func() {
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(more)
		u.showActions(u.selected(), pos.Add(fyne.NewPos(0, more.Size().Height)))
	})
	settings := newToolButton(theme.SettingsIcon(), "Settings", clk, func() { u.showSettings() })
	// The Helpdesk view (helpdesk.go), also on Ctrl+Shift+H.
	helpdesk := newToolButton(theme.AccountIcon(), "Helpdesk: enroll users (Ctrl+Shift+H)", clk, u.showHelpdesk)
	transfers := u.transferButton() // the Import/Export menu (transfer.go)
	top := container.NewBorder(nil, nil, nil, container.NewHBox(add, more, transfers, helpdesk, settings), u.search)
	top = container.NewVBox(top, u.approvalCards()) // sign-in requests (approvals.go)

	c := w.Canvas()
	c.SetOnTypedRune(func(r rune) {
		if u.list == nil {
			return // locked
		}
		u.touch()
		c.Focus(u.search)
		u.search.TypedRune(r)
	})
	c.SetOnTypedKey(func(e *fyne.KeyEvent) {
		if u.list != nil {
			u.touch()
			u.key(e.Name)
		}
	})
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) {
			if u.list != nil {
				c.Focus(u.search)
			}
		})
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { u.showAdd() })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyH, Modifier: fyne.KeyModifierShortcutDefault | fyne.KeyModifierShift},
		func(fyne.Shortcut) { u.showHelpdesk() }) // the Helpdesk view (helpdesk.go)
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyUp, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { u.move(u.selected(), -1) })
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDown, Modifier: fyne.KeyModifierShortcutDefault},
		func(fyne.Shortcut) { u.move(u.selected(), 1) })

	return atLeastMinWindow(container.NewBorder(top, u.status, nil, nil, container.NewStack(u.list, u.empty)))
}

// filter applies the search text: exact matches on issuer, name or
// "issuer:name" first, then substring matches (tags included), each group
// in store order.
func (u *App) filter() {
	q := ""
	if u.search != nil {
		q = strings.ToLower(strings.TrimSpace(u.search.Text))
	}
	var id string
	if a, ok := u.selectedAccount(); ok {
		id = a.ID
	}
	u.shown = filterAccounts(u.all, q)
	u.sel = -1
	for i, a := range u.shown {
		if a.ID == id {
			u.sel = i
		}
	}
	if u.sel < 0 && len(u.shown) > 0 && q != "" {
		u.sel = 0
	}
	u.refresh()
}

func filterAccounts(all []Account, q string) []Account {
	if q == "" {
		return slices.Clone(all)
	}
	var exact, partial []Account
	for _, a := range all {
		switch label.Match(a.Issuer, a.Name, a.Tags, q) {
		case label.ExactMatch:
			exact = append(exact, a)
		case label.PartMatch:
			partial = append(partial, a)
		}
	}
	return append(exact, partial...)
}

// refresh redraws the visible rows and the empty-list hint.
func (u *App) refresh() {
	if u.list == nil {
		return
	}
	switch {
	case len(u.all) == 0:
		u.empty.SetText("No accounts yet. Press + (Ctrl+N) to add one from an otpauth link, a QR image or its secret.")
		u.empty.Show()
	case len(u.shown) == 0:
		u.empty.SetText(fmt.Sprintf("No account matches %q.", u.search.Text))
		u.empty.Show()
	default:
		u.empty.Hide()
	}
	u.list.Refresh()
}

// view computes what the row of account a shows at now.
func (u *App) view(a Account, now time.Time) rowView {
	v := rowView{Title: a.Issuer, Subtitle: a.Name}
	if a.Issuer == "" {
		v.Title, v.Subtitle = a.Name, ""
	}
	if len(a.Tags) > 0 {
		v.Subtitle = strings.TrimSpace(v.Subtitle + "  #" + strings.Join(a.Tags, " #"))
	}
	if u.broken[a.ID] {
		v.Code, v.Broken, v.HOTP = missingSecret, true, a.Type == otp.HOTP
		return v
	}
	if a.Type == otp.HOTP {
		v.HOTP = true
		v.Code = "Press for a code"
		if c, ok := u.hotp[a.ID]; ok {
			v.Code = otp.Group(c)
		}
		return v
	}
	g := u.gens[a.ID]
	if g == nil {
		v.Code = "…"
		return v
	}
	period := g.Options().Period
	left := otp.Remaining(now, period)
	v.Code = otp.Group(g.At(now))
	v.Frac = float32(left.Seconds() / float64(period))
	v.Secs = fmt.Sprintf("%d s", int(math.Ceil(left.Seconds())))
	if left <= warnBefore {
		v.Warn = true
		v.Next = "next " + otp.Group(g.At(now.Add(left)))
	}
	return v
}

func (u *App) bindRow(i int, r *codeRow) {
	if i < 0 || i >= len(u.shown) {
		return
	}
	v := u.view(u.shown[i], u.deps.Clock.Now())
	v.Selected = i == u.sel
	r.onTap = func() { u.touch(); u.setSel(i); u.activate(i) }
	r.onSecondary = func(pos fyne.Position) { u.touch(); u.setSel(i); u.showActions(i, pos) }
	r.onDrop = func(rows int) {
		u.touch()
		if u.filtered() {
			u.note("Clear the search to reorder accounts.")
			return
		}
		u.move(i, rows)
	}
	r.set(v)
}

func (u *App) selected() int { return u.sel }

func (u *App) selectedAccount() (Account, bool) {
	if u.sel < 0 || u.sel >= len(u.shown) {
		return Account{}, false
	}
	return u.shown[u.sel], true
}

func (u *App) setSel(i int) {
	if i < 0 || i >= len(u.shown) {
		return
	}
	old := u.sel
	u.sel = i
	if old >= 0 && old < len(u.shown) {
		u.list.RefreshItem(old)
	}
	u.list.RefreshItem(i)
	u.list.ScrollTo(i)
}

// key handles the list's keys: arrows move, Enter copies, Delete asks to
// remove, Escape clears the search. It reports whether it used the key.
func (u *App) key(k fyne.KeyName) bool {
	switch k {
	case fyne.KeyDown:
		u.setSel(min(u.sel+1, len(u.shown)-1))
	case fyne.KeyUp:
		u.setSel(max(u.sel-1, 0))
	case fyne.KeyReturn, fyne.KeyEnter:
		u.activate(u.sel)
	case fyne.KeyDelete:
		u.confirmDelete(u.sel)
	case fyne.KeyEscape:
		u.search.SetText("")
		u.w.Canvas().Unfocus()
	default:
		return false
	}
	return true
}

// activate copies row i's code; for HOTP it first generates the next one
// (the store persists the counter before returning the code).
func (u *App) activate(i int) {
	if i < 0 || i >= len(u.shown) {
		return
	}
	a := u.shown[i]
	if u.broken[a.ID] {
		u.note(fmt.Sprintf("The keyring has no secret for %s (deleted outside Latchkey?): delete the account and add it again.", a.Label()))
		return
	}
	if a.Type == otp.HOTP {
		u.nextHOTP(a)
		return
	}
	g := u.gens[a.ID]
	if g == nil {
		return
	}
	u.copyCode(a, g.At(u.deps.Clock.Now()))
}

func (u *App) nextHOTP(a Account) {
	var code string
	u.background(func(ctx context.Context, s Store) (err error) {
		code, _, err = s.NextHOTP(ctx, a.ID)
		return err
	}, func(err error) {
		if err != nil {
			u.showError("Could not generate the next code", err)
			return
		}
		u.hotp[a.ID] = code
		u.reload()
		u.copyCode(a, code)
	})
}

// copyCode puts code on the clipboard and clears it after the configured
// time if it still holds the code.
func (u *App) copyCode(a Account, code string) {
	cb := fyne.CurrentApp().Clipboard()
	cb.SetContent(code)
	u.copied = code
	if u.stopClip != nil {
		u.stopClip()
	}
	clear := u.clipboardClear()
	msg := fmt.Sprintf("Copied the code of %s.", a.Label())
	if clear > 0 {
		msg = fmt.Sprintf("Copied the code of %s; the clipboard clears in %d s.", a.Label(), int(clear.Seconds()))
		u.stopClip = u.deps.Clock.AfterFunc(clear, func() {
			fyne.Do(func() {
				if cb.Content() == code {
					cb.SetContent("")
				}
			})
		})
	}
	u.note(msg)
}

// clearClipboard clears the clipboard now if a copied code is still
// waiting there to be cleared (on lock and on quit).
func (u *App) clearClipboard() {
	if u.stopClip == nil || !u.stopClip() {
		return
	}
	if cb := fyne.CurrentApp().Clipboard(); cb.Content() == u.copied {
		cb.SetContent("")
	}
	u.stopClip = nil
}

// note shows a short confirmation in the status line for a few seconds;
// the standing warnings come back after it.
func (u *App) note(msg string) {
	if u.status == nil {
		return
	}
	u.noting = true
	u.status.Importance = widget.MediumImportance
	u.status.SetText(msg)
	u.status.Show()
	if u.stopNote != nil {
		u.stopNote()
	}
	u.stopNote = u.deps.Clock.AfterFunc(3*time.Second, func() {
		fyne.Do(func() {
			u.noting = false
			u.showWarnings()
		})
	})
}

// missingSecret is what the row of an account whose keyring item is gone
// shows instead of a code.
const missingSecret = "secret missing from the keyring"

// showWarnings puts the standing warnings in the status line (the
// store's, and the accounts whose secret is missing), or hides it when
// there are none. A note showing now keeps the line until it ends.
func (u *App) showWarnings() {
	if u.status == nil || u.noting {
		return
	}
	msgs := slices.Clone(u.warnings)
	var broken []string
	for _, a := range u.all {
		if u.broken[a.ID] {
			broken = append(broken, a.Label())
		}
	}
	switch n := len(broken); {
	case n == 1:
		msgs = append(msgs, fmt.Sprintf("The keyring has no secret for %s (deleted outside Latchkey?): delete the account and add it again.", broken[0]))
	case n > 1:
		msgs = append(msgs, fmt.Sprintf("The keyring has no secret for %d accounts (deleted outside Latchkey?): their rows say so; delete them and add them again.", n))
	}
	if len(msgs) == 0 {
		u.status.Hide()
		return
	}
	u.status.Importance = widget.WarningImportance
	u.status.SetText(strings.Join(msgs, "\n"))
	u.status.Show()
}

func (u *App) confirmDelete(i int) {
	if i < 0 || i >= len(u.shown) {
		return
	}
	a := u.shown[i]
	d := dialog.NewConfirm("Delete account?",
		fmt.Sprintf("Delete %s? Its secret is removed from the store and this app can no longer show its codes.", a.Label()),
		func(ok bool) {
			if !ok {
				return
			}
			u.background(func(ctx context.Context, s Store) error {
				return s.Delete(ctx, a.ID)
			}, func(err error) {
				if err != nil {
					u.showError("Could not delete "+a.Label(), err)
					return
				}
				if g := u.gens[a.ID]; g != nil {
					g.Wipe()
					delete(u.gens, a.ID)
				}
				delete(u.hotp, a.ID)
				u.note("Deleted " + a.Label() + ".")
				u.reload()
			})
		}, u.w)
	// Deleting is marked as dangerous, never as the highlighted default.
	d.SetConfirmText("Delete")
	d.SetConfirmImportance(widget.DangerImportance)
	d.SetDismissText("Keep")
	d.Show()
}

// searchEntry is the search field; it passes the list's keys (arrows,
// Enter, Escape, and Delete when empty) to the app.
type searchEntry struct {
	widget.Entry
	app *App
}

func newSearchEntry(u *App) *searchEntry {
	e := &searchEntry{app: u}
	e.ExtendBaseWidget(e)
	return e
}

// TypedKey sends list keys to the app and the rest to the entry.
func (e *searchEntry) TypedKey(k *fyne.KeyEvent) {
	e.app.touch()
	switch k.Name {
	case fyne.KeyUp, fyne.KeyDown, fyne.KeyReturn, fyne.KeyEnter, fyne.KeyEscape:
		e.app.key(k.Name)
		return
	case fyne.KeyDelete:
		if e.Text == "" {
			e.app.key(k.Name)
			return
		}
	}
	e.Entry.TypedKey(k)
}
