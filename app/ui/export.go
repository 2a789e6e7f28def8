package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/qr"
	"latchkey/core/transfer"
	"latchkey/core/transfer/storeio"
)

// StoreExport is storeio.Export for a store that satisfies storeio.Store
// (*store.Store does).
func StoreExport(ctx context.Context, s Store) ([]transfer.Entry, error) {
	ss, ok := s.(storeio.Store)
	if !ok {
		return nil, errors.New("this store cannot export accounts")
	}
	return storeio.Export(ctx, ss)
}

// exportFormats are the export choices, in menu order.
var exportFormats = []struct {
	format transfer.Format
	label  string
	file   string
}{
	{transfer.FormatBackup, "Latchkey backup (encrypted; everything)", "latchkey-backup.age"},
	{transfer.FormatURIs, "otpauth link list (plain text)", "latchkey-accounts.txt"},
	{transfer.FormatAegis, "Aegis vault (plain JSON)", "aegis-export.json"},
	{transfer.FormatMigration, "Google Authenticator (QR codes or links)", "google-authenticator.txt"},
}

// showExport asks for the format; for Google Authenticator, whether to
// show QR codes rather than write a file.
func (u *App) showExport() {
	if u.store == nil {
		return
	}
	u.touch()
	labels := make([]string, len(exportFormats))
	for i, f := range exportFormats {
		labels[i] = f.label
	}
	choice := widget.NewRadioGroup(labels, nil)
	choice.Required = true
	choice.SetSelected(labels[0])
	show := widget.NewCheck("Show the QR codes to scan instead of saving a file", nil)
	show.SetChecked(true)
	show.Disable()
	choice.OnChanged = func(s string) {
		if s == exportFormats[3].label {
			show.Enable()
		} else {
			show.Disable()
		}
	}
	d := dialog.NewCustomConfirm("Export accounts", "Next", "Cancel", container.NewVBox(choice, show), func(ok bool) {
		if !ok {
			return
		}
		for _, f := range exportFormats {
			if f.label == choice.Selected {
				u.runExport(f.format, f.file, f.format == transfer.FormatMigration && show.Checked)
			}
		}
	}, u.w)
	d.Show()
}

// runExport reads every account with its secret off the UI goroutine,
// then continues with the format's questions.
func (u *App) runExport(f transfer.Format, file string, showQR bool) {
	s, ctx := u.store, u.ctx
	t := u.deps.Transfer.withDefaults()
	u.async(func() {
		entries, err := t.Export(ctx, s)
		fyne.Do(func() {
			switch {
			case u.store != s:
			case err != nil:
				u.showError("Could not export", err)
			case len(transfer.Supported(entries)) == 0:
				u.showError("Could not export", errors.New("there are no accounts to export"))
			case f == transfer.FormatBackup:
				u.askBackupPassphrase(t, entries, file)
			default:
				u.exportPlain(t, entries, f, file, showQR)
			}
		})
	})
}

// exportPlain encodes entries, confirms that the secrets leave in the
// clear, and writes the file or shows the QR codes.
func (u *App) exportPlain(t Transfer, entries []transfer.Entry, f transfer.Format, file string, showQR bool) {
	var data []byte
	var uris []string
	var skipped []transfer.Skipped
	var err error
	switch f {
	case transfer.FormatURIs:
		data, skipped = transfer.WriteURIs(entries)
	case transfer.FormatAegis:
		data, skipped, err = transfer.WriteAegis(entries)
	case transfer.FormatMigration:
		uris, skipped, err = transfer.MigrationURIs(entries, 0)
		data = []byte(strings.Join(uris, "\n") + "\n")
	}
	if err != nil {
		u.showError("Could not export", err)
		return
	}
	n := len(entries) - len(skipped)
	if n == 0 {
		u.showError("Could not export", fmt.Errorf("no account can be written as %s%s", f, skippedText(skipped)))
		return
	}
	what := fmt.Sprintf("This writes the secrets of %s unencrypted: anyone who reads the file can generate your codes. "+
		"Keep it private and delete it once the accounts are moved.", nAccounts(n))
	if showQR {
		what = fmt.Sprintf("The QR codes hold the secrets of %s: anyone who sees or photographs them can generate "+
			"your codes. Show them only to your phone, with nobody watching.", nAccounts(n))
	}
	msg := widget.NewLabel(what + skippedText(skipped))
	msg.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustomConfirm("Export secrets in the clear?", "Continue", "Cancel", msg, func(ok bool) {
		if !ok {
			clear(data)
			return
		}
		if showQR {
			clear(data)
			u.showMigrationQRs(uris)
			return
		}
		u.saveExport(t, file, func() ([]byte, error) { return data, nil }, n, f, skipped)
	}, u.w)
	d.SetConfirmImportance(widget.DangerImportance)
	d.Resize(fyne.NewSize(400, msg.MinSize().Height+120))
	d.Show()
}

func skippedText(skipped []transfer.Skipped) string {
	var b strings.Builder
	for _, s := range skipped {
		fmt.Fprintf(&b, "\nNot exported: %s: %s.", s.Label, strings.TrimSuffix(s.Reason, "."))
	}
	return b.String()
}

// askBackupPassphrase asks twice for the backup's passphrase.
func (u *App) askBackupPassphrase(t Transfer, entries []transfer.Entry, file string) {
	p1, p2 := widget.NewPasswordEntry(), widget.NewPasswordEntry()
	p1.Validator = func(s string) error {
		if s == "" {
			return errors.New("enter a passphrase")
		}
		return nil
	}
	p2.Validator = func(s string) error {
		if s != p1.Text {
			return errors.New("the passphrases differ")
		}
		return nil
	}
	d := dialog.NewForm("Backup passphrase", "Next", "Cancel", []*widget.FormItem{
		formItemWithHint("Passphrase", p1, "The backup is encrypted with it; it cannot be recovered."),
		widget.NewFormItem("Again", p2),
	}, func(ok bool) {
		pass := []byte(p1.Text)
		p1.SetText("")
		p2.SetText("")
		if !ok || len(pass) == 0 {
			return
		}
		now := u.deps.Clock.Now()
		u.saveExport(t, file, func() ([]byte, error) {
			defer clear(pass)
			var buf bytes.Buffer
			if _, err := transfer.WriteBackup(&buf, entries, pass, transfer.BackupOptions{Now: now, WorkFactor: t.WorkFactor}); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		}, len(transfer.Supported(entries)), transfer.FormatBackup, nil)
	}, u.w)
	d.Resize(fyne.NewSize(400, d.MinSize().Height))
	d.Show()
}

// saveExport asks where to save, then encodes (a backup's key derivation
// takes a moment) and writes the file off the UI goroutine.
func (u *App) saveExport(t Transfer, file string, encode func() ([]byte, error), n int, f transfer.Format, skipped []transfer.Skipped) {
	t.SaveFile(u.w, file, func(path string, err error) {
		if err != nil {
			u.showError("Could not export", err)
			return
		}
		if path == "" {
			return
		}
		prog := dialog.NewCustomWithoutButtons("Exporting…", widget.NewProgressBarInfinite(), u.w)
		prog.Show()
		u.async(func() {
			data, err := encode()
			if err == nil {
				err = t.WriteFile(path, data)
			}
			clear(data)
			fyne.Do(func() {
				prog.Hide()
				if err != nil {
					u.showError("Nothing was exported", err)
					return
				}
				msg := fmt.Sprintf("Exported %s as %s to %s.", nAccounts(n), f, filepath.Base(path))
				if len(skipped) > 0 {
					dialog.ShowInformation("Export done", msg+skippedText(skipped), u.w)
				}
				u.note(msg)
			})
		})
	})
}

// showMigrationQRs shows the Google Authenticator migration QR codes one
// after another in a window of their own.
func (u *App) showMigrationQRs(uris []string) {
	imgs := make([]image.Image, len(uris))
	for i, uri := range uris {
		m, err := qrImageOf(uri)
		if err != nil {
			u.showError("Could not show the QR codes", err)
			return
		}
		imgs[i] = m
	}
	w := fyne.CurrentApp().NewWindow("Google Authenticator transfer")
	title := widget.NewLabel("")
	img := canvas.NewImageFromImage(nil)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScalePixels
	img.SetMinSize(fyne.NewSquareSize(360))
	i := 0
	var prev, next *widget.Button
	show := func() {
		img.Image = imgs[i]
		img.Refresh()
		title.SetText(fmt.Sprintf("QR code %d of %d. In Google Authenticator, open\nTransfer accounts › Import accounts and scan it.", i+1, len(uris)))
		prev.Disable()
		if i > 0 {
			prev.Enable()
		}
		next.SetText("Next")
		if i == len(uris)-1 {
			next.SetText("Done")
		}
	}
	prev = widget.NewButtonWithIcon("Previous", theme.NavigateBackIcon(), func() { i--; show() })
	next = widget.NewButton("Next", func() {
		if i == len(uris)-1 {
			w.Close()
			return
		}
		i++
		show()
	})
	next.Importance = widget.HighImportance
	show() // before the layout, which sizes the two-line title
	w.SetContent(container.NewBorder(title, container.NewHBox(layoutSpacer(), prev, next), nil, nil, img))
	w.Resize(fyne.NewSize(440, 540))
	w.Show()
}

func qrImageOf(text string) (image.Image, error) {
	b, err := qr.PNG(text, 600)
	if err != nil {
		return nil, err
	}
	return png.Decode(bytes.NewReader(b))
}

// saveFileDialog is Fyne's save dialog. It hands back the path only: the
// dialog creates the file empty with the default mode, and transfer.WriteFile
// then replaces it with one readable by the owner only.
func saveFileDialog(w fyne.Window, name string, done func(string, error)) {
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			done("", err)
			return
		}
		u := wc.URI()
		wc.Close()
		if u.Scheme() != "file" {
			done("", fmt.Errorf("cannot write to %s: choose a local file", u))
			return
		}
		done(u.Path(), nil)
	}, w)
	d.SetFileName(name)
	d.Show()
}
