package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/enroll"
	"latchkey/core/otp"
)

// Pairing connects Settings' "Sign-ins" section to core/enroll: pairing
// an account with a pairing link from the helpdesk (as `latchkey pair
// LINK` does), and unpairing it (the server forgets the device key,
// then the store does). DefaultPairing is the real one.
type Pairing struct {
	// Pair pairs the account id ("" = the one the link names) and
	// returns it, paired.
	Pair func(ctx context.Context, s Store, link, id string) (Account, error)
	// Unpair unpairs the account id; a server that cannot be reached is
	// reported in the error after the store forgot the key.
	Unpair func(ctx context.Context, s Store, id string) error
}

// errNoDeviceKeys: a store that cannot keep device keys (a test fake).
var errNoDeviceKeys = errors.New("this store keeps no device keys")

// DefaultPairing pairs and unpairs with core/enroll over a store that
// keeps device keys (core/store's does); now is the clock for the code
// that proves the account.
func DefaultPairing(c enroll.Client, clock Clock) Pairing {
	return Pairing{
		Pair: func(ctx context.Context, s Store, link, id string) (Account, error) {
			ps, ok := s.(enroll.PairStore)
			if !ok {
				return Account{}, errNoDeviceKeys
			}
			return enroll.Pair(ctx, c, link, ps, id, clock.Now())
		},
		Unpair: func(ctx context.Context, s Store, id string) error {
			ks, ok := s.(interface {
				enroll.KeyStore
				Unpair(ctx context.Context, id string) error
			})
			if !ok {
				return errNoDeviceKeys
			}
			var serverErr error
			ds, err := enroll.Devices(ctx, c, ks, clock.Now)
			if err != nil {
				serverErr = err
			}
			for _, d := range ds {
				if d.Account.ID == id {
					serverErr = d.Unpair(ctx)
				}
			}
			if err := ks.Unpair(ctx, id); err != nil {
				return err
			}
			if serverErr != nil {
				return fmt.Errorf("unpaired here, but the server was not told (%w); the helpdesk can revoke the device", serverErr)
			}
			return nil
		},
	}
}

// signinSetting is Settings' "Sign-ins" section: how many accounts
// approve sign-ins, pairing and unpairing, and the history.
func (u *App) signinSetting() fyne.CanvasObject {
	n := 0
	for _, a := range u.all {
		if a.Pairing != nil {
			n++
		}
	}
	text := "No account approves sign-ins yet: pair one with a pairing link from your helpdesk."
	switch n {
	case 0:
	case 1:
		text = "1 account approves sign-ins on this computer."
	default:
		text = fmt.Sprintf("%d accounts approve sign-ins on this computer.", n)
	}
	return container.NewVBox(wrapped(text), container.NewHBox(
		widget.NewButton("Pair or unpair…", u.showPairing),
		widget.NewButton("History…", u.showSignins)))
}

// showPairing opens the pairing dialog: a pairing link (pasted, or read
// from a QR image), the account it is for, and the paired accounts with
// an Unpair button each.
func (u *App) showPairing() {
	link := widget.NewEntry()
	link.SetPlaceHolder("https://SERVER/pair#TOKEN")
	var totp []Account
	names := []string{"The account the link names"}
	for _, a := range u.all {
		if a.Type == otp.TOTP {
			totp = append(totp, a)
			names = append(names, a.Label())
		}
	}
	which := widget.NewSelect(names, nil)
	which.SetSelectedIndex(0)
	msg := wrapped("")
	msg.Importance = widget.DangerImportance
	msg.Hide()
	var d dialog.Dialog
	qr := widget.NewButton("Read a QR image…", func() {
		u.openQRImage(func(texts []string, err error) {
			for _, t := range texts {
				if strings.Contains(t, "/pair#") {
					link.SetText(t)
					return
				}
			}
			if err == nil {
				err = errors.New("the image holds no pairing link")
			}
			msg.SetText(err.Error())
			msg.Show()
		})
	})
	pair := widget.NewButton("Pair", nil)
	pair.Importance = widget.HighImportance
	pair.OnTapped = func() {
		id := ""
		if i := which.SelectedIndex(); i > 0 {
			id = totp[i-1].ID
		}
		l := strings.TrimSpace(link.Text)
		if _, err := enroll.ParsePairingLink(l); err != nil {
			msg.SetText(err.Error())
			msg.Show()
			return
		}
		pair.Disable()
		var acc Account
		u.background(func(ctx context.Context, s Store) (err error) {
			acc, err = u.deps.Pairing.Pair(ctx, s, l, id)
			return err
		}, func(err error) {
			pair.Enable()
			if err != nil {
				msg.SetText("Not paired: " + err.Error())
				msg.Show()
				return
			}
			d.Hide()
			u.note(fmt.Sprintf("Paired %s with %s: it approves sign-ins here.", acc.Label(), acc.Pairing.Server))
			u.reload(u.listen)
		})
	}
	paired := container.NewVBox()
	for _, a := range u.all {
		if a.Pairing == nil {
			continue
		}
		a := a
		l := wrapped(a.Label() + " · " + a.Pairing.Server)
		paired.Add(container.NewBorder(nil, nil, nil, widget.NewButton("Unpair…", func() { u.confirmUnpair(a, d) }), l))
	}
	if len(paired.Objects) == 0 {
		paired.Add(wrapped("No account is paired."))
	}
	content := container.NewVBox(
		widget.NewLabelWithStyle("Pair an account", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		link, container.NewHBox(qr), which, msg, container.NewHBox(pair),
		widget.NewSeparator(),
		widget.NewLabelWithStyle("Paired accounts", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		paired)
	d = dialog.NewCustom("Sign-in approval", "Close", container.NewVScroll(content), u.w)
	fitDialog(d, u.w, fyne.NewSize(520, 520))
	d.Show()
}

func (u *App) confirmUnpair(a Account, parent dialog.Dialog) {
	dialog.ShowConfirm("Unpair "+a.Label()+"?",
		"This computer stops approving its sign-ins, and "+a.Pairing.Server+" forgets its device key. The account's codes stay.",
		func(ok bool) {
			if !ok {
				return
			}
			u.background(func(ctx context.Context, s Store) error {
				return u.deps.Pairing.Unpair(ctx, s, a.ID)
			}, func(err error) {
				parent.Hide()
				if err != nil {
					u.showError("Unpairing "+a.Label(), err)
				} else {
					u.note("Unpaired " + a.Label() + ".")
				}
				u.reload(u.listen)
			})
		}, u.w)
}

// openQRImage asks for an image file and decodes its QR codes.
func (u *App) openQRImage(done func([]string, error)) {
	if u.deps.DecodeQR == nil {
		done(nil, errors.New("QR images cannot be read in this build; paste the link"))
		return
	}
	dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		defer r.Close()
		texts, err := u.deps.DecodeQR(io.Reader(r))
		done(texts, err)
	}, u.w)
}
