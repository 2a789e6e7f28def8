package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otpauth"
	"latchkey/core/transfer"
	"latchkey/core/transfer/storeio"
)

// StoreImport is storeio.Import for a store that can add many accounts in
// one step (*store.Store can).
func StoreImport(ctx context.Context, s Store, entries []transfer.Entry) (storeio.Summary, error) {
	ss, ok := s.(storeio.Store)
	if !ok {
		return storeio.Summary{}, errors.New("this store cannot import accounts")
	}
	return storeio.Import(ctx, ss, entries)
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
		if !format.Encrypted() {
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
		res.NoOTP += r.NoOTP
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
		"Aegis, 2FAS, andOTP, FreeOTP+, Ente Auth and Authenticator Pro backups, Bitwarden, Proton Pass and KeePassXC exports, " +
		"and Latchkey backups.")
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
				u.showImportSummary(res.Warnings, sum, res.NoOTP)
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
// accounts renamed, skipped and not imported, with the reasons. noOTP
// counts a password manager's logins without a one-time code.
func importSummary(warnings []string, sum storeio.Summary, noOTP int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Added %d, skipped %d (already present), unsupported %d.", len(sum.Added), len(sum.Skipped), len(sum.Unsupported))
	if noOTP > 0 {
		fmt.Fprintf(&b, "\nLogins without a one-time code (left out): %d.", noOTP)
	}
	for _, r := range sum.Renamed {
		fmt.Fprintf(&b, "\n%s exists with another secret; imported as %s.", r.From, r.To)
	}
	if len(sum.Skipped) > 0 {
		fmt.Fprintf(&b, "\nAlready present: %s.", strings.Join(sum.Skipped, ", "))
	}
	for _, c := range sum.Cleaned {
		fmt.Fprintf(&b, "\n%s held control characters; imported as %s.", c.From, c.To)
	}
	for _, x := range sum.Unsupported {
		fmt.Fprintf(&b, "\nNot imported: %s: %s.", x.Label, strings.TrimSuffix(x.Reason, "."))
	}
	for _, w := range warnings {
		fmt.Fprintf(&b, "\nWarning: %s", w)
	}
	return b.String()
}

func (u *App) showImportSummary(warnings []string, sum storeio.Summary, noOTP int) {
	text := importSummary(warnings, sum, noOTP)
	msg := widget.NewLabel(text)
	msg.Wrapping = fyne.TextWrapWord
	scroll := container.NewVScroll(msg)
	// A wrapped label has no height of its own yet: allow two lines per
	// item, and scroll beyond a screenful.
	lines := strings.Count(text, "\n") + 1
	scroll.SetMinSize(fyne.NewSize(340, float32(min(20+44*lines, 340))))
	d := dialog.NewCustom("Import done", "OK", scroll, u.w)
	d.Show()
	u.note(fmt.Sprintf("Imported %s.", nAccounts(len(sum.Added))))
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

// nAccounts is "1 account" or "N accounts".
func nAccounts(n int) string {
	if n == 1 {
		return "1 account"
	}
	return fmt.Sprintf("%d accounts", n)
}
