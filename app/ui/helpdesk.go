package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/enroll"
	"latchkey/core/qr"
	"latchkey/core/store"
	"latchkey/server"
)

// HelpdeskAPI is what the Helpdesk view needs of an enrollment server;
// enroll.Admin (the admin API over HTTP) has it.
type HelpdeskAPI interface {
	Credentials(ctx context.Context, user string) ([]enroll.Credential, error)
	Create(ctx context.Context, user, name string) (*enroll.Created, error)
	Confirm(ctx context.Context, user, id, code string) error
	Rename(ctx context.Context, user, id, name string) error
	Delete(ctx context.Context, user, id string) error
}

var _ HelpdeskAPI = enroll.Admin{}

// TokenKeeper remembers admin tokens per server URL (enroll.Tokens keeps
// them in the OS keyring through core/store).
type TokenKeeper interface {
	Load(ctx context.Context, server string) (string, error)
	Save(ctx context.Context, server, token string) error
}

// Helpdesk connects the Helpdesk view; zero fields take the defaults
// named beside them.
type Helpdesk struct {
	// Connect returns the API of the server at url with the admin token;
	// nil means enroll.Admin over HTTP.
	Connect func(url, token string) HelpdeskAPI
	// Local starts the embedded enrollment server and returns its URL,
	// admin token and a stop function; nil means LocalServer with the
	// process environment.
	Local func(ctx context.Context) (url, token string, stop func(), err error)
	// Tokens remembers admin tokens; nil hides "Remember the token".
	Tokens TokenKeeper
	// Clock drives the QR window's countdown; nil means the system clock.
	Clock Clock
	// Async runs slow calls off the UI goroutine; nil means a goroutine.
	Async func(f func())
	// NewWindow opens the QR window; nil means a new window of the app.
	NewWindow func(title string) fyne.Window
	// Getenv reads the environment (LATCHKEY_HOME for the local server's
	// data and the token store); nil means os.Getenv.
	Getenv func(string) string
}

func (d *Helpdesk) defaults(getenv func(string) string) {
	if d.Getenv == nil {
		d.Getenv = getenv
	}
	if d.Connect == nil {
		d.Connect = func(url, token string) HelpdeskAPI { return enroll.Admin{Server: url, Token: token} }
	}
	if d.Local == nil {
		d.Local = func(ctx context.Context) (string, string, func(), error) { return LocalServer(ctx, d.Getenv) }
	}
	if d.Clock == nil {
		d.Clock = realClock{}
	}
	if d.Async == nil {
		d.Async = func(f func()) { go f() }
	}
	if d.NewWindow == nil {
		d.NewWindow = func(title string) fyne.Window { return fyne.CurrentApp().NewWindow(title) }
	}
}

// LocalServer runs the enrollment server in this process on a loopback
// port (server.StartLocal), with its SQLite database and key in
// Latchkey's data folder (as `latchkey serve` keeps them) and a fresh
// admin token known only to this process. stop shuts it down.
func LocalServer(ctx context.Context, getenv func(string) string) (url, token string, stop func(), err error) {
	l, err := server.StartLocal(ctx, getenv)
	if err != nil {
		return "", "", nil, fmt.Errorf("starting the local server: %w", err)
	}
	return l.URL, l.Token, l.Stop, nil
}

// showHelpdesk opens the Helpdesk view in a window of its own, or brings
// the one already open to the front: a second view would start a second
// local server on the same database. Closing it stops a local server it
// started.
func (u *App) showHelpdesk() {
	if w := u.helpdesk; w != nil && slices.Contains(fyne.CurrentApp().Driver().AllWindows(), w) {
		w.Show()
		w.RequestFocus()
		return
	}
	d := u.deps.Helpdesk
	if d.Getenv == nil {
		d.Getenv = os.Getenv
	}
	if d.Clock == nil {
		d.Clock = u.deps.Clock
	}
	if d.Tokens == nil {
		if home, err := store.DefaultHome(d.Getenv); err == nil {
			d.Tokens = enroll.Tokens{Home: home}
		}
	}
	w := fyne.CurrentApp().NewWindow("Latchkey Helpdesk")
	w.SetContent(helpdeskScreen(w, u.ctx, d))
	w.Resize(fyne.NewSize(640, 720))
	w.Show()
	u.helpdesk = w
}

// helpdeskView is the Helpdesk screen's state.
type helpdeskView struct {
	d   Helpdesk
	w   fyne.Window
	ctx context.Context

	api  HelpdeskAPI
	stop func() // stops a local server

	serverURL *widget.Entry
	token     *widget.Entry
	remember  *widget.Check
	connect   *widget.Button
	local     *widget.Button
	status    *widget.Label

	user     *widget.Entry
	show     *widget.Button
	creds    *fyne.Container
	credName *widget.Entry
	qrKind   *widget.RadioGroup
	enroll   *widget.Button
	work     *fyne.Container // user, credentials and enroll: shown once connected

	qrWin *qrWindow // the last QR window, for tests
}

const (
	qrSecret = "The secret, for any authenticator app"
	qrLink   = "A one-time enrollment link, for Latchkey"
)

// helpdeskScreen lets a helpdesk enroll users against a server: connect
// with the admin token (remembered in the keyring) or run the embedded
// server, type a user, see their credentials, enroll one on a full-screen
// QR window and confirm the user's first code, rename or revoke. It fills
// w, a window of its own: closing w stops a local server it started.
func helpdeskScreen(w fyne.Window, ctx context.Context, d Helpdesk) fyne.CanvasObject {
	if d.Getenv == nil {
		d.Getenv = os.Getenv
	}
	v := newHelpdeskView(ctx, w, d, d.Getenv)
	w.SetOnClosed(v.Close)
	return v.content()
}

func newHelpdeskView(ctx context.Context, w fyne.Window, d Helpdesk, getenv func(string) string) *helpdeskView {
	d.defaults(getenv)
	v := &helpdeskView{d: d, w: w, ctx: ctx}
	v.serverURL = widget.NewEntry()
	v.serverURL.SetPlaceHolder("https://auth.example.com")
	v.token = widget.NewPasswordEntry()
	v.token.SetPlaceHolder("Admin token (blank: the one remembered)")
	v.remember = widget.NewCheck("Remember the token in the keyring", nil)
	if d.Tokens == nil {
		v.remember.Hide()
	}
	v.connect = widget.NewButton("Connect", v.doConnect)
	v.connect.Importance = widget.HighImportance
	v.local = widget.NewButton("Run a local server", v.doLocal)
	v.status = widget.NewLabel("Not connected.")
	v.status.Wrapping = fyne.TextWrapWord

	v.user = widget.NewEntry()
	v.user.SetPlaceHolder("alice@example.com")
	v.user.OnSubmitted = func(string) { v.doShow() }
	v.show = widget.NewButton("Show credentials", v.doShow)
	v.creds = container.NewVBox()
	v.credName = widget.NewEntry()
	v.credName.SetPlaceHolder("Name (optional), e.g. Phone")
	v.qrKind = widget.NewRadioGroup([]string{qrSecret, qrLink}, nil)
	v.qrKind.SetSelected(qrSecret)
	v.qrKind.Required = true
	v.enroll = widget.NewButton("Enroll…", v.doEnroll)
	v.enroll.Importance = widget.HighImportance
	return v
}

func (v *helpdeskView) content() fyne.CanvasObject {
	conn := widget.NewForm(
		widget.NewFormItem("Server", v.serverURL),
		widget.NewFormItem("Admin token", v.token),
	)
	v.work = container.NewVBox(
		widget.NewSeparator(),
		widget.NewForm(widget.NewFormItem("User", v.user)),
		v.show,
		v.creds,
		widget.NewSeparator(),
		widget.NewLabelWithStyle("New credential", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		v.credName,
		widget.NewLabel("The QR code carries"),
		v.qrKind,
		v.enroll,
	)
	v.work.Hide()
	top := container.NewVBox(conn, v.remember, container.NewHBox(v.connect, v.local), v.status)
	return container.NewVScroll(container.NewPadded(container.NewVBox(top, v.work)))
}

// helpdeskMessage turns an error into words for the person at the desk:
// the view's one place for it. A wrong code and a replayed one read the
// same.
func helpdeskMessage(err error) string {
	switch {
	case errors.Is(err, enroll.ErrCodeRejected):
		return "That code was not accepted. Wait for the next code in the app and type it; if it fails again, check the device's clock."
	case errors.Is(err, enroll.ErrLocked):
		return "Too many wrong codes for this user. Wait a few minutes, then try again."
	case errors.Is(err, enroll.ErrUnauthorized):
		return "The server refused the admin token."
	case errors.Is(err, enroll.ErrNotFound):
		return "That credential does not exist any more (an unconfirmed enrollment expires after 15 minutes). Start a new one."
	case errors.Is(err, enroll.ErrNoToken):
		return "Type the admin token: none is remembered for this server."
	}
	return err.Error()
}

func (v *helpdeskView) setStatus(s string) {
	v.status.SetText(s)
}

// connected switches the view to a server.
func (v *helpdeskView) connected(api HelpdeskAPI, what string) {
	v.api = api
	v.setStatus(what)
	v.work.Show()
	v.w.Canvas().Focus(v.user)
}

func (v *helpdeskView) doConnect() {
	url := strings.TrimRight(strings.TrimSpace(v.serverURL.Text), "/")
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		v.setStatus("Type the server's URL, starting with https:// (or http:// on this computer).")
		return
	}
	token, remember := strings.TrimSpace(v.token.Text), v.remember.Checked
	v.setStatus("Connecting…")
	v.d.Async(func() {
		var err, saveErr error
		if token == "" && v.d.Tokens != nil {
			token, err = v.d.Tokens.Load(v.ctx, url)
		} else if token == "" {
			err = enroll.ErrNoToken
		}
		var api HelpdeskAPI
		if err == nil {
			api = v.d.Connect(url, token)
			// Listing any user proves the URL and the token.
			_, err = api.Credentials(v.ctx, "latchkey-connection-check")
		}
		if err == nil && remember && v.d.Tokens != nil {
			saveErr = v.d.Tokens.Save(v.ctx, url, token)
		}
		fyne.Do(func() {
			if err != nil {
				v.setStatus("Could not connect: " + helpdeskMessage(err))
				return
			}
			msg := "Connected to " + url + "."
			if saveErr != nil {
				msg += " Remembering the token failed: " + helpdeskMessage(saveErr)
			}
			v.token.SetText("")
			v.connected(api, msg)
		})
	})
}

func (v *helpdeskView) doLocal() {
	v.setStatus("Starting the local server…")
	v.local.Disable()
	v.d.Async(func() {
		url, token, stop, err := v.d.Local(v.ctx)
		fyne.Do(func() {
			if err != nil {
				v.local.Enable()
				v.setStatus("Could not start the local server: " + err.Error())
				return
			}
			v.stop = stop
			v.serverURL.SetText(url)
			v.connected(v.d.Connect(url, token), "Running a local server at "+url+" (its data is in Latchkey's data folder).")
		})
	})
}

// Close stops a local server the view started.
func (v *helpdeskView) Close() {
	if v.stop != nil {
		v.stop()
		v.stop = nil
	}
}

func (v *helpdeskView) currentUser() (string, bool) {
	u := strings.TrimSpace(v.user.Text)
	if u == "" {
		v.setStatus("Type a user first.")
		v.w.Canvas().Focus(v.user)
		return "", false
	}
	return u, true
}

func (v *helpdeskView) doShow() {
	user, ok := v.currentUser()
	if !ok || v.api == nil {
		return
	}
	v.d.Async(func() {
		cs, err := v.api.Credentials(v.ctx, user)
		fyne.Do(func() {
			if err != nil {
				v.setStatus("Could not list the credentials: " + helpdeskMessage(err))
				return
			}
			v.showCreds(user, cs)
		})
	})
}

const dateLayout = "2006-01-02 15:04"

func credText(c enroll.Credential) string {
	state := "verified"
	if !c.Verified {
		state = "pending"
	}
	used := "never used"
	if c.LastUsed != nil {
		used = "last used " + c.LastUsed.Local().Format(dateLayout)
	}
	return fmt.Sprintf("%s — %s — created %s — %s", c.Name, state, c.Created.Local().Format(dateLayout), used)
}

func (v *helpdeskView) showCreds(user string, cs []enroll.Credential) {
	v.creds.RemoveAll()
	if len(cs) == 0 {
		v.creds.Add(widget.NewLabel(user + " has no credentials yet."))
	}
	for _, c := range cs {
		c := c
		rename := widget.NewButton("Rename…", func() { v.askRename(user, c) })
		revoke := widget.NewButton("Revoke…", func() { v.askRevoke(user, c) })
		revoke.Importance = widget.DangerImportance
		l := widget.NewLabel(credText(c))
		l.Wrapping = fyne.TextWrapWord
		v.creds.Add(container.NewBorder(nil, nil, nil, container.NewHBox(rename, revoke), l))
	}
	v.creds.Refresh()
	v.setStatus(fmt.Sprintf("%s has %d credential(s).", user, len(cs)))
}

func (v *helpdeskView) askRename(user string, c enroll.Credential) {
	e := widget.NewEntry()
	e.SetText(c.Name)
	dialog.ShowForm("Rename "+c.Name, "Rename", "Cancel", []*widget.FormItem{widget.NewFormItem("New name", e)}, func(ok bool) {
		name := strings.TrimSpace(e.Text)
		if !ok || name == "" {
			return
		}
		v.d.Async(func() {
			err := v.api.Rename(v.ctx, user, c.ID, name)
			fyne.Do(func() {
				if err != nil {
					v.setStatus("Could not rename: " + helpdeskMessage(err))
					return
				}
				v.doShow()
			})
		})
	}, v.w)
}

func (v *helpdeskView) askRevoke(user string, c enroll.Credential) {
	d := dialog.NewConfirm("Revoke "+c.Name+"?", "Codes from "+c.Name+" of "+user+" stop working at once. This cannot be undone.", func(ok bool) {
		if ok {
			v.revoke(user, c)
		}
	}, v.w)
	d.SetConfirmText("Revoke")
	d.SetDismissText("Cancel")
	d.Show()
}

func (v *helpdeskView) revoke(user string, c enroll.Credential) {
	v.d.Async(func() {
		err := v.api.Delete(v.ctx, user, c.ID)
		fyne.Do(func() {
			if err != nil {
				v.setStatus("Could not revoke: " + helpdeskMessage(err))
				return
			}
			v.doShow()
		})
	})
}

func (v *helpdeskView) doEnroll() {
	user, ok := v.currentUser()
	if !ok || v.api == nil {
		return
	}
	name, link := strings.TrimSpace(v.credName.Text), v.qrKind.Selected == qrLink
	v.setStatus("Creating a credential for " + user + "…")
	v.d.Async(func() {
		c, err := v.api.Create(v.ctx, user, name)
		var png []byte
		if err == nil {
			png = c.QRPNG
			if link {
				png, err = qr.PNG(c.EnrollmentLink, 512)
			}
		}
		fyne.Do(func() {
			if err != nil {
				v.setStatus("Could not enroll: " + helpdeskMessage(err))
				return
			}
			v.setStatus("Show the QR window to " + user + ".")
			v.qrWin = v.openQR(user, c, png, link)
			v.doShow()
		})
	})
}

// qrWindow is the full-screen QR window, to turn towards the user.
type qrWindow struct {
	v         *helpdeskView
	w         fyne.Window
	user      string
	c         *enroll.Created
	image     *canvas.Image
	detail    *widget.Label // the secret, or the enrollment link
	countdown *widget.Label
	code      *widget.Entry
	confirm   *widget.Button
	message   *widget.Label
	stopTick  func() bool
	done      bool
}

func groupsOfFour(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (v *helpdeskView) openQR(user string, c *enroll.Created, png []byte, link bool) *qrWindow {
	q := &qrWindow{v: v, user: user, c: c, w: v.d.NewWindow("Enroll " + user)}
	q.image = canvas.NewImageFromResource(fyne.NewStaticResource("qr.png", png))
	q.image.FillMode = canvas.ImageFillContain
	q.image.ScaleMode = canvas.ImageScalePixels
	q.image.SetMinSize(fyne.NewSize(420, 420))
	title := widget.NewLabelWithStyle("Scan to enroll "+user, fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	issuer := "Latchkey"
	if k := strings.Index(c.OTPAuthURI, "issuer="); k >= 0 {
		issuer = strings.SplitN(c.OTPAuthURI[k+len("issuer="):], "&", 2)[0]
		issuer = strings.ReplaceAll(issuer, "%20", " ")
	}
	who := widget.NewLabelWithStyle(issuer+" · account "+user, fyne.TextAlignCenter, fyne.TextStyle{})
	var detail *widget.Label
	if link {
		detail = widget.NewLabelWithStyle("Scan with Latchkey, or run: latchkey enroll '"+c.EnrollmentLink+"'", fyne.TextAlignCenter, fyne.TextStyle{Monospace: true})
	} else {
		detail = widget.NewLabelWithStyle(groupsOfFour(c.Secret), fyne.TextAlignCenter, fyne.TextStyle{Monospace: true})
	}
	detail.Wrapping = fyne.TextWrapBreak
	q.countdown = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	q.code = widget.NewEntry()
	q.code.SetPlaceHolder("The first code the app shows")
	q.code.OnSubmitted = func(string) { q.doConfirm() }
	q.confirm = widget.NewButton("Confirm", q.doConfirm)
	q.confirm.Importance = widget.HighImportance
	q.message = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	q.message.Wrapping = fyne.TextWrapWord
	closeB := widget.NewButton("Close", q.close)
	form := container.NewBorder(nil, nil, nil, q.confirm, q.code)
	q.detail = detail
	q.w.SetContent(container.NewPadded(container.NewBorder(
		container.NewVBox(title, who), container.NewVBox(detail, q.countdown, form, q.message, container.NewCenter(closeB)),
		nil, nil, q.image)))
	q.w.SetOnClosed(func() {
		if q.stopTick != nil {
			q.stopTick()
		}
	})
	q.w.SetFullScreen(true)
	q.w.Show()
	q.w.Canvas().Focus(q.code)
	q.tick()
	return q
}

// tick updates the countdown every second until the enrollment expires.
func (q *qrWindow) tick() {
	left := q.c.Expires.Sub(q.v.d.Clock.Now()).Round(time.Second)
	switch {
	case q.done:
		return
	case left <= 0:
		q.countdown.SetText("This enrollment has expired. Start a new one.")
		q.confirm.Disable()
		return
	}
	q.countdown.SetText(fmt.Sprintf("This enrollment expires in %d:%02d.", int(left.Minutes()), int(left.Seconds())%60))
	q.stopTick = q.v.d.Clock.AfterFunc(time.Second, func() { fyne.Do(q.tick) })
}

func (q *qrWindow) doConfirm() {
	code := strings.ReplaceAll(strings.TrimSpace(q.code.Text), " ", "")
	if code == "" {
		q.message.SetText("Type the code the app shows.")
		return
	}
	q.confirm.Disable()
	q.v.d.Async(func() {
		err := q.v.api.Confirm(q.v.ctx, q.user, q.c.ID, code)
		fyne.Do(func() {
			if err != nil {
				q.confirm.Enable()
				q.code.SetText("")
				q.message.SetText(helpdeskMessage(err))
				q.w.Canvas().Focus(q.code)
				return
			}
			q.done = true
			if q.stopTick != nil {
				q.stopTick()
			}
			q.countdown.SetText("")
			// The secret has done its job: it leaves the screen.
			q.image.Hide()
			q.detail.Hide()
			q.code.Hide()
			q.confirm.Hide()
			q.message.SetText("Enrollment confirmed: " + q.user + "'s credential is verified.")
			q.v.doShow()
		})
	})
}

func (q *qrWindow) close() {
	q.w.Close()
}
