package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/enroll"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/store"
)

// Messages for the QR paths that a platform or build may not offer.
const (
	noQRDecoder = "Reading QR images is not available in this build of Latchkey. " +
		"Paste the otpauth:// link or enter the secret instead."
	noScreenCapture = "Scanning the screen is not possible here: this platform gives Latchkey no " +
		"portable way to capture the screen. Save a screenshot of the QR code with your desktop's " +
		"screenshot tool and add it under \"QR image\", or paste the link."
)

// addForm is the add dialog's state; each tab reports into its own
// message label.
type addForm struct {
	app    *App
	dialog dialog.Dialog
	warn   string // otp.CheckSecret's warning for the secret being added

	uri       *widget.Entry
	uriMsg    *widget.Label
	uriAdd    *widget.Button
	enrolling *fyne.Container // progress while a link is redeemed
	enrollBar *widget.ProgressBarInfinite

	issuer, name, secret, period, counter *widget.Entry
	kind, algorithm, digits               *widget.Select
	manualMsg                             *widget.Label

	imageMsg  *widget.Label
	screenMsg *widget.Label
	tabs      *container.AppTabs
}

// showAdd opens the add dialog: an otpauth or enrollment link (pre-filled
// when the clipboard holds one), manual entry, a QR image file, or a QR on
// screen.
func (u *App) showAdd() {
	if u.store == nil {
		return
	}
	f := u.newAddForm()
	d := dialog.NewCustom("Add account", "Close", f.tabs, u.w)
	f.dialog = d
	fitDialog(d, u.w, fyne.NewSize(480, 560))
	d.Show()
	if f.uri.Text == "" {
		u.w.Canvas().Focus(f.uri)
	}
}

func (u *App) newAddForm() *addForm {
	f := &addForm{app: u}
	msg := func() *widget.Label {
		l := widget.NewLabel("")
		l.Wrapping = fyne.TextWrapWord
		l.Importance = widget.DangerImportance
		l.Hide()
		return l
	}

	f.uri = widget.NewMultiLineEntry()
	f.uri.SetPlaceHolder("otpauth://totp/Issuer:name?secret=…\nhttps://auth.example.com/enroll#…")
	f.uri.Wrapping = fyne.TextWrapBreak
	f.uriMsg = msg()
	if c := strings.TrimSpace(fyne.CurrentApp().Clipboard().Content()); strings.HasPrefix(strings.ToLower(c), "otpauth://") || isEnrollmentLink(c) {
		f.uri.SetText(c)
	}
	f.uriAdd = widget.NewButton("Add", f.submitURI)
	f.enrollBar = widget.NewProgressBarInfinite()
	f.enrollBar.Stop() // runs only while shown
	working := widget.NewLabel("Enrolling: redeeming the link and confirming the first code with the server…")
	working.Wrapping = fyne.TextWrapWord
	f.enrolling = container.NewVBox(working, f.enrollBar)
	f.enrolling.Hide()
	intro := widget.NewLabel("Paste the otpauth:// link a site shows beside its QR code, " +
		"or the one-time enrollment link (https://…/enroll#…) your helpdesk sent.")
	intro.Wrapping = fyne.TextWrapWord
	uriTab := container.NewBorder(intro,
		container.NewVBox(f.enrolling, f.uriMsg, container.NewHBox(layoutSpacer(), f.uriAdd)),
		nil, nil, f.uri)

	f.issuer = widget.NewEntry()
	f.issuer.SetPlaceHolder("e.g. GitHub (optional)")
	f.name = widget.NewEntry()
	f.name.SetPlaceHolder("e.g. alice@example.com")
	f.name.Validator = validateName
	f.secret = widget.NewPasswordEntry()
	f.secret.SetPlaceHolder("base32, e.g. JBSW Y3DP EHPK 3PXP")
	f.secret.Validator = validateSecret
	f.kind = widget.NewSelect([]string{"TOTP (time)", "HOTP (counter)"}, nil)
	f.kind.SetSelectedIndex(0)
	f.algorithm = widget.NewSelect([]string{"SHA1", "SHA256", "SHA512"}, nil)
	f.algorithm.SetSelectedIndex(0)
	f.digits = widget.NewSelect([]string{"6", "7", "8"}, nil)
	f.digits.SetSelectedIndex(0)
	f.period = widget.NewEntry()
	f.period.SetText("30")
	f.period.Validator = validatePeriod
	f.counter = widget.NewEntry()
	f.counter.SetText("0")
	f.counter.Validator = validateCounter
	f.manualMsg = msg()
	form := widget.NewForm(
		widget.NewFormItem("Issuer", f.issuer),
		widget.NewFormItem("Name", f.name),
		widget.NewFormItem("Secret", f.secret),
		widget.NewFormItem("Type", f.kind),
		widget.NewFormItem("Algorithm", f.algorithm),
		widget.NewFormItem("Digits", f.digits),
		widget.NewFormItem("Period (s)", f.period),
		widget.NewFormItem("Counter", f.counter),
	)
	manualTab := container.NewBorder(nil,
		container.NewVBox(f.manualMsg, container.NewHBox(layoutSpacer(), widget.NewButton("Add", f.submitManual))),
		nil, nil, container.NewVScroll(form))

	f.imageMsg = msg()
	imageTab := container.NewVBox(
		wrapped("Choose a PNG or JPEG image holding the account's QR code."),
		container.NewHBox(widget.NewButton("Choose image…", f.chooseImage)), f.imageMsg)

	f.screenMsg = msg()
	scan := widget.NewButton("Scan the screen", f.scanScreen)
	if u.deps.CaptureScreen == nil {
		scan.Disable()
		f.screenMsg.SetText(noScreenCapture)
		f.screenMsg.Importance = widget.MediumImportance
		f.screenMsg.Show()
	}
	screenTab := container.NewVBox(
		wrapped("Show the QR code on your screen, then scan."),
		container.NewHBox(scan), f.screenMsg)

	f.tabs = container.NewAppTabs(
		container.NewTabItem("Link", uriTab),
		container.NewTabItem("Manual", manualTab),
		// Short names: the four tabs fit the narrowest window.
		container.NewTabItem("Image", imageTab),
		container.NewTabItem("Screen", screenTab),
	)
	return f
}

func validateName(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("name is required")
	}
	return nil
}

// validateSecret names the problem with a typed secret: a character that
// base32 does not use, too few characters, or a length base32 cannot have.
func validateSecret(s string) error {
	clean := strings.TrimRight(strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)), "=")
	if clean == "" {
		return errors.New("secret is required")
	}
	if i := strings.IndexFunc(clean, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') }); i >= 0 {
		r, _ := utf8.DecodeRuneInString(clean[i:])
		return fmt.Errorf("secret is not valid base32: %q is not one of the letters A-Z and digits 2-7", r)
	}
	// The one rule for short secrets (otp.CheckSecret), in its words,
	// already while typing: five bits a character.
	if bits := 5 * len(clean); bits < otp.MinSecretBits {
		return fmt.Errorf("%w: %d bits, at least %d needed", otp.ErrSecretTooShort, bits, otp.MinSecretBits)
	}
	sec, err := otp.DecodeSecret(s)
	if err != nil {
		return errors.New("secret has a length base32 cannot have: a character is missing or one too many")
	}
	defer sec.Wipe()
	_, err = otp.CheckSecret(sec)
	return err
}

func validatePeriod(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < otp.MinPeriod || n > otp.MaxPeriod {
		return fmt.Errorf("period must be a whole number of seconds from %d to %d", otp.MinPeriod, otp.MaxPeriod)
	}
	return nil
}

func validateCounter(s string) error {
	if _, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64); err != nil {
		return errors.New("counter must be a whole number, 0 or more")
	}
	return nil
}

func fail(l *widget.Label, text string) {
	l.SetText(text)
	l.Show()
}

func (f *addForm) submitURI() {
	s := strings.TrimSpace(f.uri.Text)
	if s == "" {
		fail(f.uriMsg, "Paste an otpauth:// link first.")
		return
	}
	// An http(s) link (quotes and brackets around it, as ParseLink
	// allows) is an enrollment link; anything else is an otpauth link.
	if l := strings.ToLower(strings.Trim(s, `"'<>`)); strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		f.enroll(s)
		return
	}
	k, err := otpauth.Parse(s)
	if err != nil {
		fail(f.uriMsg, userMessage("This link cannot be added", err))
		return
	}
	f.add(k, f.uriMsg)
}

// fieldError is a manual-entry problem, named by the form's label.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// manualKey validates every field and builds the key, or names the first
// field that is wrong.
func (f *addForm) manualKey() (*otpauth.Key, error) {
	for _, c := range []struct {
		field string
		e     *widget.Entry
	}{{"Name", f.name}, {"Secret", f.secret}, {"Period", f.period}, {"Counter", f.counter}} {
		if err := c.e.Validator(c.e.Text); err != nil {
			c.e.SetValidationError(err)
			return nil, &fieldError{c.field, err}
		}
	}
	sec, err := otp.DecodeSecret(f.secret.Text)
	if err != nil {
		return nil, &fieldError{"Secret", err}
	}
	alg, err := otp.ParseAlgorithm(f.algorithm.Selected)
	if err != nil {
		return nil, &fieldError{"Algorithm", err}
	}
	digits, _ := strconv.Atoi(f.digits.Selected)
	period, _ := strconv.Atoi(strings.TrimSpace(f.period.Text))
	counter, _ := strconv.ParseUint(strings.TrimSpace(f.counter.Text), 10, 64)
	k := &otpauth.Key{Type: otp.TOTP, Issuer: strings.TrimSpace(f.issuer.Text), Account: strings.TrimSpace(f.name.Text),
		Secret: sec, Algorithm: alg, Digits: digits, Period: period}
	if f.kind.SelectedIndex() == 1 {
		k.Type, k.Counter, k.Period = otp.HOTP, counter, otp.DefaultPeriod
	}
	return k, nil
}

func (f *addForm) submitManual() {
	k, err := f.manualKey()
	if err != nil {
		fail(f.manualMsg, err.Error()+".")
		return
	}
	f.add(k, f.manualMsg)
}

func (f *addForm) chooseImage() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			fail(f.imageMsg, userMessage("Could not open the image", err))
			return
		}
		if r == nil {
			return // cancelled
		}
		defer r.Close()
		f.addFromImage(r)
	}, f.app.w)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG"}))
	d.Show()
}

// addFromImage decodes the QR codes in an image and adds the first
// otpauth link found.
func (f *addForm) addFromImage(r io.Reader) {
	f.addFromQR(r, f.imageMsg)
}

func (f *addForm) addFromQR(r io.Reader, msg *widget.Label) {
	if f.app.deps.DecodeQR == nil {
		fail(msg, noQRDecoder)
		return
	}
	texts, err := f.app.deps.DecodeQR(r)
	if err != nil {
		fail(msg, userMessage("No QR code could be read from the image", err))
		return
	}
	var firstErr error
	for _, t := range texts {
		if isEnrollmentLink(t) {
			// A helpdesk QR may carry the link instead of the key: redeem
			// it on the Link tab, which shows the progress.
			f.tabs.SelectIndex(0)
			f.uri.SetText(strings.TrimSpace(t))
			f.enroll(f.uri.Text)
			return
		}
		k, err := otpauth.Parse(strings.TrimSpace(t))
		if err != nil {
			firstErr = err
			continue
		}
		f.add(k, msg)
		return
	}
	switch {
	case len(texts) == 0:
		fail(msg, "The image holds no QR code. Crop it around the code, or paste the link instead.")
	case firstErr != nil && strings.HasPrefix(strings.ToLower(texts[0]), "otpauth-migration:"):
		fail(msg, "This QR code is a Google Authenticator export; import it with `latchkey import`.")
	default:
		fail(msg, userMessage("The QR code does not hold an account link", firstErr))
	}
}

func (f *addForm) scanScreen() {
	capture := f.app.deps.CaptureScreen
	if capture == nil {
		fail(f.screenMsg, noScreenCapture)
		return
	}
	img, err := capture(f.app.ctx)
	if err != nil {
		fail(f.screenMsg, userMessage("Could not capture the screen", err))
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		fail(f.screenMsg, userMessage("Could not capture the screen", err))
		return
	}
	f.addFromQR(&buf, f.screenMsg)
}

// add stores k, asking before adding a second account with the same
// issuer and name.
func (f *addForm) add(k *otpauth.Key, msg *widget.Label) {
	u := f.app
	a := Account{Type: k.Type, Issuer: k.Issuer, Name: k.Account, Algorithm: k.Algorithm,
		Digits: k.Digits, Period: k.Period, Counter: k.Counter}
	if a.Name == "" {
		a.Name = a.Issuer
	}
	if a.Name == "" {
		fail(msg, "The account has no name; enter one under Manual.")
		return
	}
	// The one rule for short secrets, whatever the secret came from.
	warn, err := otp.CheckSecret(k.Secret)
	if err != nil {
		fail(msg, "Not added: "+err.Error()+".")
		return
	}
	f.warn = warn
	var saved Account
	u.background(func(ctx context.Context, s Store) (err error) {
		saved, err = s.Add(ctx, a, k.Secret, false)
		return err
	}, func(err error) {
		switch {
		case errors.Is(err, store.ErrDuplicate):
			dialog.ShowConfirm("Account exists",
				fmt.Sprintf("An account %s exists already. Add this one as well?", a.Label()),
				func(ok bool) {
					if ok {
						f.saveForce(a, k)
					}
				}, u.w)
		case err != nil:
			fail(msg, userMessage("Could not add the account", err))
		default:
			f.done(saved)
		}
	})
}

func (f *addForm) saveForce(a Account, k *otpauth.Key) {
	var saved Account
	f.app.background(func(ctx context.Context, s Store) (err error) {
		saved, err = s.Add(ctx, a, k.Secret, true)
		return err
	}, func(err error) {
		if err != nil {
			dialog.ShowError(errors.New(userMessage("Could not add the account", err)), f.app.w)
			return
		}
		f.done(saved)
	})
}

func (f *addForm) done(a Account) {
	if f.dialog != nil {
		f.dialog.Hide()
	}
	note := "Added " + a.Label() + "."
	if f.warn != "" {
		note += " Warning: " + f.warn + "."
	}
	f.app.note(note)
	f.app.reload()
}

// isEnrollmentLink reports whether s is an enrollment link that
// enroll.ParseLink accepts.
func isEnrollmentLink(s string) bool {
	_, err := enroll.ParseLink(s)
	return err == nil
}

// enroll redeems an enrollment link through Deps.Enroll off the UI
// goroutine, showing progress meanwhile. On success the dialog closes,
// the account is listed and the status line says it was confirmed; on
// failure a dialog says why (core/enroll's message, which never holds the
// token).
func (f *addForm) enroll(link string) {
	u := f.app
	if _, err := enroll.ParseLink(link); err != nil {
		// Malformed, so never sent: say what is wrong with its shape
		// (ParseLink's reason; it never repeats the token).
		why := strings.TrimPrefix(err.Error(), enroll.ErrInvalidLink.Error()+": ")
		fail(f.uriMsg, "This link cannot be added: it is neither an otpauth:// link nor an enrollment link ("+why+").")
		return
	}
	if u.store == nil {
		return
	}
	// The link is spent once redeemed and cannot be tried again, so an
	// account with the same issuer and name is kept beside the new one
	// (force) rather than refused; existing tells the status line.
	existing := map[string]bool{}
	for _, a := range u.all {
		existing[strings.ToLower(a.Issuer)+"\x00"+strings.ToLower(a.Name)] = true
	}
	f.uriMsg.Hide()
	f.uriAdd.Disable()
	f.enrolling.Show()
	f.enrollBar.Start()
	s, ctx, enrol := u.store, u.ctx, u.deps.Enroll
	u.async(func() {
		acc, err := enrol(ctx, link, s, true)
		fyne.Do(func() {
			f.enrollBar.Stop()
			f.enrolling.Hide()
			f.uriAdd.Enable()
			if err != nil {
				u.deps.Log.Warn("enroll", "err", err) // never the link: it holds the token
				fail(f.uriMsg, enrollMessage(err))
				dialog.ShowError(errors.New(enrollMessage(err)), u.w)
				return
			}
			if f.dialog != nil {
				f.dialog.Hide()
			}
			if u.store != s {
				return // the window was closed or locked meanwhile
			}
			note := "Enrolled " + acc.Label() + "; the server confirmed its first code."
			if existing[strings.ToLower(acc.Issuer)+"\x00"+strings.ToLower(acc.Name)] {
				note = "Enrolled " + acc.Label() + " beside the existing account of that name; the server confirmed its first code."
			}
			u.note(note)
			u.reload()
		})
	})
}

// enrollMessage is what the user reads when a link cannot be redeemed:
// core/enroll's own sentence, without its package prefix.
func enrollMessage(err error) string {
	msg := userMessage("Could not enroll", err)
	return strings.Replace(msg, "Could not enroll: enroll: ", "Could not enroll: ", 1)
}
