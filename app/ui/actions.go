package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/qr"
)

// actionsMenu is the menu of account i: copy, next HOTP code, rename,
// tags, move up/down, show QR, delete.
func (u *App) actionsMenu(i int) *fyne.Menu {
	a := u.shown[i]
	items := []*fyne.MenuItem{
		fyne.NewMenuItem("Copy code", func() { u.activate(i) }),
	}
	if a.Type == otp.HOTP {
		items[0] = fyne.NewMenuItem("Next code", func() { u.nextHOTP(a) })
	}
	up := fyne.NewMenuItem("Move up", func() { u.move(i, -1) })
	up.Disabled = i == 0 || u.filtered()
	down := fyne.NewMenuItem("Move down", func() { u.move(i, 1) })
	down.Disabled = i == len(u.shown)-1 || u.filtered()
	items = append(items,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Rename…", func() { u.rename(a) }),
		fyne.NewMenuItem("Tags…", func() { u.editTags(a) }),
		up, down,
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Show QR for a phone…", func() { u.confirmQR(a) }),
		fyne.NewMenuItem("Delete…", func() { u.confirmDelete(i) }),
	)
	return fyne.NewMenu(a.Label(), items...)
}

// showActions pops up the menu of account i at pos.
func (u *App) showActions(i int, pos fyne.Position) {
	if i < 0 || i >= len(u.shown) {
		u.note("Select an account first (click it or use the arrow keys).")
		return
	}
	widget.ShowPopUpMenuAtPosition(u.actionsMenu(i), u.w.Canvas(), pos)
}

// filtered reports whether a search hides some accounts; moving is only
// offered on the full list, where up and down mean what they show.
func (u *App) filtered() bool { return len(u.shown) != len(u.all) }

func (u *App) move(i, delta int) {
	if i < 0 || i >= len(u.shown) || u.filtered() {
		return
	}
	j := min(max(i+delta, 0), len(u.shown)-1)
	if j == i {
		return
	}
	id := u.shown[i].ID
	u.background(func(ctx context.Context, s Store) error {
		return s.Move(ctx, id, delta)
	}, func(err error) {
		if err != nil {
			u.showError("Could not move the account", err)
			return
		}
		u.sel = j
		u.reload(func() { u.setSel(j) })
	})
}

func (u *App) rename(a Account) {
	issuer := widget.NewEntry()
	issuer.SetText(a.Issuer)
	name := widget.NewEntry()
	name.SetText(a.Name)
	name.Validator = validateName
	dialog.ShowForm("Rename "+a.Label(), "Rename", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Issuer", issuer),
		widget.NewFormItem("Name", name),
	}, func(ok bool) {
		if !ok {
			return
		}
		newIssuer, newName := strings.TrimSpace(issuer.Text), strings.TrimSpace(name.Text)
		u.background(func(ctx context.Context, s Store) error {
			_, err := s.Update(ctx, a.ID, func(x *Account) error {
				x.Issuer, x.Name = newIssuer, newName
				return nil
			})
			return err
		}, func(err error) {
			if err != nil {
				u.showError("Could not rename "+a.Label(), err)
				return
			}
			u.reload()
		})
	}, u.w)
}

// parseTags splits "work, email  #vpn" into tags without '#', blanks or
// repeats.
func parseTags(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		f = strings.TrimLeft(f, "#")
		if f != "" && !containsFold(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (u *App) editTags(a Account) {
	tags := widget.NewEntry()
	tags.SetText(strings.Join(a.Tags, ", "))
	tags.SetPlaceHolder("work, email")
	dialog.ShowForm("Tags of "+a.Label(), "Save", "Cancel", []*widget.FormItem{
		formItemWithHint("Tags", tags, "Separated by commas; search finds accounts by tag."),
	}, func(ok bool) {
		if !ok {
			return
		}
		t := parseTags(tags.Text)
		u.background(func(ctx context.Context, s Store) error {
			_, err := s.Update(ctx, a.ID, func(x *Account) error { x.Tags = t; return nil })
			return err
		}, func(err error) {
			if err != nil {
				u.showError("Could not save the tags of "+a.Label(), err)
				return
			}
			u.reload()
		})
	}, u.w)
}

// confirmQR warns that the QR holds the secret before showing it.
func (u *App) confirmQR(a Account) {
	d := dialog.NewConfirm("Show the secret?",
		fmt.Sprintf("The QR code holds the secret of %s: anyone who sees or photographs it can generate "+
			"its codes. Show it only to move the account to your phone, with nobody watching.", a.Label()),
		func(ok bool) {
			if ok {
				u.showQR(a)
			}
		}, u.w)
	d.SetConfirmText("Show QR")
	d.Show()
}

func (u *App) showQR(a Account) {
	var img image.Image
	u.background(func(ctx context.Context, s Store) (err error) {
		img, err = qrImage(ctx, s, a)
		return err
	}, func(err error) {
		if err != nil {
			u.showError("Could not show the QR code", err)
			return
		}
		u.showQRImage(a, img)
	})
}

func (u *App) showQRImage(a Account, img image.Image) {
	ci := canvas.NewImageFromImage(img)
	ci.FillMode = canvas.ImageFillContain
	ci.ScaleMode = canvas.ImageScalePixels
	ci.SetMinSize(fyne.NewSquareSize(280))
	hint := widget.NewLabel("Scan with your phone's authenticator app, then close this window.")
	hint.Wrapping = fyne.TextWrapWord
	dialog.ShowCustom(a.Label(), "Close", container.NewBorder(nil, hint, nil, nil, ci), u.w)
}

// qrImage renders account a's otpauth URI as a QR code.
func qrImage(ctx context.Context, s Store, a Account) (image.Image, error) {
	sec, err := s.Secret(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	k := otpauth.Key{Type: a.Type, Issuer: a.Issuer, Account: a.Name, Secret: sec,
		Algorithm: a.Algorithm, Digits: a.Digits, Period: a.Period, Counter: a.Counter}
	if k.Digits == 0 {
		k.Digits = otp.DefaultDigits
	}
	if k.Period == 0 {
		k.Period = otp.DefaultPeriod
	}
	b, err := qr.PNG(k.String(), 512)
	if err != nil {
		return nil, errors.New("the account link is too long for a QR code")
	}
	return png.Decode(bytes.NewReader(b))
}
