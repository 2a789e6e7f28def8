package ui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"time"
)

// outcome is how a sign-in request ended, as the history tells it.
type outcome string

const (
	outcomeApproved outcome = "approved"
	outcomeDenied   outcome = "denied"
	outcomeExpired  outcome = "expired"
	outcomeGone     outcome = "answered elsewhere"
)

// historyLen is how many sign-ins the "Sign-ins" view keeps (in memory,
// for this run of the app).
const historyLen = 20

// signinRecord is one line of the history.
type signinRecord struct {
	client, message, account string
	outcome                  outcome
	at                       time.Time
}

// record adds s's outcome to the history.
func (u *App) record(s signin, o outcome) {
	r := signinRecord{client: clientName(s.Request), message: s.BindingMessage, account: s.label, outcome: o, at: u.deps.Clock.Now()}
	u.signins.history = append([]signinRecord{r}, u.signins.history...)
	if len(u.signins.history) > historyLen {
		u.signins.history = u.signins.history[:historyLen]
	}
}

// historyLines are the history as text, newest first.
func (u *App) historyLines() []string {
	out := make([]string, 0, len(u.signins.history))
	for _, r := range u.signins.history {
		msg := r.message
		if msg == "" {
			msg = "(no message)"
		}
		out = append(out, fmt.Sprintf("%s  %s: %s to %s (%s)", r.at.Local().Format("15:04:05"), r.outcome, r.client, r.account, msg))
	}
	return out
}

// showSignins opens the "Sign-ins" view: the requests of this session,
// answered, denied or expired, with their times.
func (u *App) showSignins() {
	lines := u.historyLines()
	var content fyne.CanvasObject
	if len(lines) == 0 {
		content = wrapped("No sign-in requests since the app started. A request for a paired account appears above the list.")
	} else {
		list := widget.NewList(func() int { return len(lines) },
			func() fyne.CanvasObject { l := widget.NewLabel(""); l.Truncation = fyne.TextTruncateEllipsis; return l },
			func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(lines[i]) })
		content = list
	}
	d := dialog.NewCustom("Sign-ins", "Close", content, u.w)
	fitDialog(d, u.w, fyne.NewSize(520, 360))
	d.Show()
}
