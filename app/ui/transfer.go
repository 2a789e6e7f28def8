package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otpauth"
	"latchkey/core/qr"
	"latchkey/core/transfer"
	"latchkey/core/transfer/storeio"
)

// Transfer connects the Import/Export menu; zero fields take the
// defaults, which suit the real store.
type Transfer struct {
	// Import adds parsed entries to s in one all-or-nothing step; nil
	// means StoreImport.
	Import func(ctx context.Context, s Store, entries []transfer.Entry) (storeio.Summary, error)
	// Export returns every account of s with its secret; nil means
	// StoreExport.
	Export func(ctx context.Context, s Store) ([]transfer.Entry, error)
	// OpenFile asks for a file to import and calls done with its content,
	// or with nil when the user cancels; nil means Fyne's file dialog.
	OpenFile func(w fyne.Window, done func(*transfer.File, error))
	// SaveFile asks where to write an export (name is the suggested file
	// name) and calls done with the path, or "" when the user cancels;
	// nil means Fyne's save dialog.
	SaveFile func(w fyne.Window, name string, done func(path string, err error))
	// WriteFile writes an export readable by the owner only, atomically;
	// nil means transfer.WriteFile.
	WriteFile func(path string, data []byte) error
	// WorkFactor is the scrypt log2 N of backups; 0 means age's default.
	// Tests lower it.
	WorkFactor int
}

// StoreImport is storeio.Import for a store that can add many accounts in
// one step (*store.Store can).
func StoreImport(ctx context.Context, s Store, entries []transfer.Entry) (storeio.Summary, error) {
	ss, ok := s.(storeio.Store)
	if !ok {
		return storeio.Summary{}, errors.New("this store cannot import accounts")
	}
	return storeio.Import(ctx, ss, entries)
}

// StoreExport is storeio.Export for a store that satisfies storeio.Store
// (*store.Store does).
func StoreExport(ctx context.Context, s Store) ([]transfer.Entry, error) {
	ss, ok := s.(storeio.Store)
	if !ok {
		return nil, errors.New("this store cannot export accounts")
	}
	return storeio.Export(ctx, ss)
}

func (t Transfer) withDefaults() Transfer {
	if t.Import == nil {
		t.Import = StoreImport
	}
	if t.Export == nil {
		t.Export = StoreExport
	}
	if t.OpenFile == nil {
		t.OpenFile = openFileDialog
	}
	if t.SaveFile == nil {
		t.SaveFile = saveFileDialog
	}
	if t.WriteFile == nil {
		t.WriteFile = transfer.WriteFile
	}
	return t
}

// transferButton is the toolbar's Import/Export button and its menu.
func (u *App) transferButton() *widget.Button {
	var b *widget.Button
	b = widget.NewButtonWithIcon("", theme.StorageIcon(), func() {
		pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(b)
		widget.ShowPopUpMenuAtPosition(u.transferMenu(), u.w.Canvas(), pos.Add(fyne.NewPos(0, b.Size().Height)))
	})
	return b
}

// transferMenu offers import and export.
func (u *App) transferMenu() *fyne.Menu {
	return fyne.NewMenu("Import/Export",
		fyne.NewMenuItem("Import accounts…", u.showImport),
		fyne.NewMenuItem("Export accounts…", u.showExport),
	)
}

// importJob is one import in progress: the files chosen, the passwords
// given so far and the encrypted files already opened (so that a second
// password does not run the first file's key derivation again).
type importJob struct {
	files  []transfer.File
	pass   map[int][]byte
	opened map[int][]transfer.Entry
}

// errAskPassword stops a read when a file needs a password not asked yet.
var errAskPassword = errors.New("password not asked yet")

// needPassword says which file needs a password, and whether the last one
// given was wrong.
type needPassword struct {
	file  int
	wrong bool
}

// read parses the files as one import: each vault or backup on its own
// (each has its own password), the URI lists and QR images together so
// that the batches of one Google Authenticator export are gathered. It
// returns every entry, a password to ask for, or an error naming the file.
func (j *importJob) read() (*transfer.Result, *needPassword, error) {
	res := &transfer.Result{}
	var lines []transfer.File
	for i, f := range j.files {
		format, err := transfer.Detect(f.Data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		switch format {
		case transfer.FormatAegis, transfer.FormatTwoFAS, transfer.FormatBackup:
		default:
			lines = append(lines, f)
			continue
		}
		if entries, ok := j.opened[i]; ok {
			res.Entries = append(res.Entries, entries...)
			continue
		}
		r, err := transfer.ReadFiles([]transfer.File{f}, transfer.Options{Format: format, Passphrase: func() ([]byte, error) {
			p, ok := j.pass[i]
			if !ok {
				return nil, errAskPassword
			}
			return bytes.Clone(p), nil
		}})
		switch {
		case errors.Is(err, errAskPassword):
			return nil, &needPassword{file: i}, nil
		case errors.Is(err, transfer.ErrPassphrase):
			clear(j.pass[i])
			delete(j.pass, i)
			return nil, &needPassword{file: i, wrong: true}, nil
		case err != nil:
			return nil, nil, err
		}
		j.opened[i] = r.Entries
		res.Entries = append(res.Entries, r.Entries...)
		res.Warnings = append(res.Warnings, r.Warnings...)
	}
	if len(lines) > 0 {
		r, err := transfer.ReadFiles(lines, transfer.Options{})
		if err != nil {
			return nil, nil, err
		}
		res.Entries = append(res.Entries, r.Entries...)
		res.Warnings = append(res.Warnings, r.Warnings...)
	}
	return res, nil, nil
}

func (j *importJob) wipe() {
	for _, p := range j.pass {
		clear(p)
	}
	j.pass = nil
}

// showImport asks for a file to import, then offers to add more files
// (the QR images or text files of one Google Authenticator export) before
// importing them together.
func (u *App) showImport() {
	if u.store == nil {
		return
	}
	u.touch()
	u.pickImport(&importJob{pass: map[int][]byte{}, opened: map[int][]transfer.Entry{}})
}

func (u *App) pickImport(j *importJob) {
	t := u.deps.Transfer.withDefaults()
	t.OpenFile(u.w, func(f *transfer.File, err error) {
		if err != nil {
			u.showError("Could not read the file", err)
			return
		}
		if f == nil {
			if len(j.files) > 0 {
				u.confirmImport(j)
			}
			return
		}
		j.files = append(j.files, *f)
		u.confirmImport(j)
	})
}

// confirmImport lists the chosen files and offers Import or another file.
func (u *App) confirmImport(j *importJob) {
	names := make([]string, len(j.files))
	for i, f := range j.files {
		names[i] = "• " + f.Name
	}
	msg := widget.NewLabel("Import the accounts of:\n" + strings.Join(names, "\n") +
		"\n\nThe format is recognized from the content: otpauth links, QR images, Google Authenticator exports, " +
		"Aegis and 2FAS backups, and Latchkey backups.")
	msg.Wrapping = fyne.TextWrapWord
	var d *dialog.ConfirmDialog
	more := widget.NewButtonWithIcon("Add another file…", theme.ContentAddIcon(), func() {
		d.Hide()
		u.pickImport(j)
	})
	d = dialog.NewCustomConfirm("Import accounts", "Import", "Cancel",
		container.NewVBox(msg, container.NewHBox(more)), func(ok bool) {
			if ok {
				u.runImport(j)
			}
		}, u.w)
	d.Resize(fyne.NewSize(380, d.MinSize().Height))
	d.Show()
}

// runImport reads the files and adds their accounts off the UI goroutine,
// asking for passwords on the way, then shows the summary.
func (u *App) runImport(j *importJob) {
	s, ctx := u.store, u.ctx
	t := u.deps.Transfer.withDefaults()
	prog := dialog.NewCustomWithoutButtons("Importing…", widget.NewProgressBarInfinite(), u.w)
	prog.Show()
	u.async(func() {
		res, need, err := j.read()
		var sum storeio.Summary
		if err == nil && need == nil {
			sum, err = t.Import(ctx, s, res.Entries)
		}
		fyne.Do(func() {
			prog.Hide()
			if u.store != s {
				j.wipe()
				return // locked meanwhile
			}
			switch {
			case err != nil:
				j.wipe()
				u.showImportError(err)
			case need != nil:
				u.askImportPassword(j, *need)
			default:
				j.wipe()
				u.showImportSummary(res.Warnings, sum)
				u.reload()
			}
		})
	})
}

// showImportError shows why nothing was imported. A problem in the
// files keeps its full text, which names the file and the entry (the
// store's errors get the usual wording).
func (u *App) showImportError(err error) {
	var ee *transfer.EntryError
	var fe *otpauth.FieldError
	if errors.As(err, &ee) || errors.As(err, &fe) {
		u.deps.Log.Warn("import", "err", err)
		dialog.ShowError(errors.New("Nothing was imported: "+err.Error()+"."), u.w)
		return
	}
	u.showError("Nothing was imported", err)
}

// askImportPassword asks for the password of an encrypted file, saying so
// when the last one was wrong; Cancel ends the import with nothing added.
func (u *App) askImportPassword(j *importJob, need needPassword) {
	name := j.files[need.file].Name
	text := fmt.Sprintf("%s is encrypted. Enter the password it was exported with.", name)
	if need.wrong {
		text = fmt.Sprintf("Wrong password: it does not open %s. Try again.", name)
	}
	msg := widget.NewLabel(text)
	msg.Wrapping = fyne.TextWrapWord
	if need.wrong {
		msg.Importance = widget.DangerImportance
	}
	pass := widget.NewPasswordEntry()
	pass.SetPlaceHolder("Password")
	d := dialog.NewCustomConfirm("Password of "+name, "Open", "Cancel", container.NewVBox(msg, pass), func(ok bool) {
		if !ok || pass.Text == "" {
			j.wipe()
			if ok {
				u.showError("Nothing was imported", fmt.Errorf("%s: %w", name, transfer.ErrNeedPassphrase))
			}
			return
		}
		j.pass[need.file] = []byte(pass.Text)
		pass.SetText("")
		u.runImport(j)
	}, u.w)
	pass.OnSubmitted = func(string) { d.Confirm() }
	d.Resize(fyne.NewSize(380, d.MinSize().Height))
	d.Show()
	u.w.Canvas().Focus(pass)
}

// importSummary is the text of the import's summary: counts, then the
// accounts renamed, skipped and not imported, with the reasons.
func importSummary(warnings []string, sum storeio.Summary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Added %d, skipped %d (already present), unsupported %d.", len(sum.Added), len(sum.Skipped), len(sum.Unsupported))
	for _, r := range sum.Renamed {
		fmt.Fprintf(&b, "\n%s exists with another secret; imported as %s.", r.From, r.To)
	}
	if len(sum.Skipped) > 0 {
		fmt.Fprintf(&b, "\nAlready present: %s.", strings.Join(sum.Skipped, ", "))
	}
	for _, x := range sum.Unsupported {
		fmt.Fprintf(&b, "\nNot imported: %s: %s.", x.Label, strings.TrimSuffix(x.Reason, "."))
	}
	for _, w := range warnings {
		fmt.Fprintf(&b, "\nWarning: %s", w)
	}
	return b.String()
}

func (u *App) showImportSummary(warnings []string, sum storeio.Summary) {
	text := importSummary(warnings, sum)
	msg := widget.NewLabel(text)
	msg.Wrapping = fyne.TextWrapWord
	scroll := container.NewVScroll(msg)
	// A wrapped label has no height of its own yet: allow two lines per
	// item, and scroll beyond a screenful.
	lines := strings.Count(text, "\n") + 1
	scroll.SetMinSize(fyne.NewSize(340, float32(min(20+44*lines, 340))))
	d := dialog.NewCustom("Import done", "OK", scroll, u.w)
	d.Show()
	u.note(fmt.Sprintf("Imported %d accounts.", len(sum.Added)))
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
	what := fmt.Sprintf("This writes the secrets of %d accounts unencrypted: anyone who reads the file can generate your codes. "+
		"Keep it private and delete it once the accounts are moved.", n)
	if showQR {
		what = fmt.Sprintf("The QR codes hold the secrets of %d accounts: anyone who sees or photographs them can generate "+
			"your codes. Show them only to your phone, with nobody watching.", n)
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
				msg := fmt.Sprintf("Exported %d accounts as %s to %s.", n, f, filepath.Base(path))
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

// openFileDialog is Fyne's file open dialog, reading at most
// transfer.MaxInput bytes.
func openFileDialog(w fyne.Window, done func(*transfer.File, error)) {
	dialog.ShowFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			done(nil, err)
			return
		}
		defer r.Close()
		data, err := io.ReadAll(io.LimitReader(r, transfer.MaxInput+1))
		name := r.URI().Name()
		if err != nil {
			done(nil, fmt.Errorf("%s: %w", name, err))
			return
		}
		if len(data) > transfer.MaxInput {
			done(nil, fmt.Errorf("%s: %w: more than %d MiB", name, transfer.ErrTooLarge, transfer.MaxInput>>20))
			return
		}
		done(&transfer.File{Name: name, Data: data}, nil)
	}, w)
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
