package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/enroll"
)

// Approvals connects the app to the sign-in requests of the store's
// paired accounts (OpenID CIBA); DefaultApprovals is the real one.
type Approvals struct {
	// Listen runs until ctx ends, calling seen (from its own goroutine)
	// with every paired account's pending requests each time they
	// change. nil means no requests are shown.
	Listen func(ctx context.Context, s Store, seen func([]enroll.Request))
	// Answer approves or denies the pending request id, with the
	// account's current code when its client asks for one; it returns
	// the server's status. It runs off the UI goroutine.
	Answer func(ctx context.Context, s Store, id string, approve bool) (status string, err error)
	// Notify raises a system notification; nil means Fyne's.
	Notify func(n *fyne.Notification)
}

// DefaultApprovals listens with core/enroll's Listener (the long-poll of
// `latchkey requests --wait`, with back-off and no word when offline)
// and answers with AnswerRequest, over a store that keeps device keys
// (core/store's does); hc nil means http.DefaultClient.
func DefaultApprovals(hc *http.Client, log func(err error)) Approvals {
	c := enroll.Client{HTTP: hc}
	keys := func(s Store) (enroll.KeyStore, error) {
		ks, ok := s.(enroll.KeyStore)
		if !ok {
			return nil, errors.New("this store keeps no device keys")
		}
		return ks, nil
	}
	return Approvals{
		Listen: func(ctx context.Context, s Store, seen func([]enroll.Request)) {
			ks, err := keys(s)
			if err != nil {
				return
			}
			l := enroll.Listener{Devices: func(ctx context.Context) ([]enroll.Device, error) {
				return enroll.Devices(ctx, c, ks, nil)
			}}
			l.Run(ctx, seen, log)
		},
		Answer: func(ctx context.Context, s Store, id string, approve bool) (string, error) {
			ks, err := keys(s)
			if err != nil {
				return "", err
			}
			ds, err := enroll.Devices(ctx, c, ks, nil)
			if err != nil {
				return "", err
			}
			_, status, err := enroll.AnswerRequest(ctx, ds, ks, id, approve)
			return status, err
		},
	}
}

// signin is a pending request as the card shows it.
type signin struct {
	enroll.Request
	label   string    // the local account's label
	expires time.Time // from when it was first seen
}

// signins is the app's part for sign-in requests.
type signins struct {
	stop    context.CancelFunc // the listener of the open store
	pending []signin
	handled map[string]bool // answered here: hidden even if a poll still lists it
	history []signinRecord  // newest first (history.go)
	cards   *fyne.Container // above the list
}

// listen starts the listener for the open store; it stops when the
// store is locked or closed (stopListening), or the app's context ends.
func (u *App) listen() {
	u.stopListening()
	if u.deps.Approvals.Listen == nil || u.store == nil {
		return
	}
	s := u.store
	ctx, cancel := context.WithCancel(u.ctx)
	u.signins.stop = cancel
	// Not u.async: the listener runs as long as the store is open.
	go u.deps.Approvals.Listen(ctx, s, func(rs []enroll.Request) {
		fyne.Do(func() {
			if u.store == s && ctx.Err() == nil {
				u.requestsSeen(rs)
			}
		})
	})
}

// stopListening stops the listener and forgets what it saw.
func (u *App) stopListening() {
	if u.signins.stop != nil {
		u.signins.stop()
		u.signins.stop = nil
	}
	u.signins.pending = nil
	u.refreshCards()
}

// requestsSeen takes the listener's list: a new request raises a
// notification and a card; one gone (answered elsewhere, expired) goes.
func (u *App) requestsSeen(rs []enroll.Request) {
	now := u.deps.Clock.Now()
	labels := map[string]string{}
	for _, a := range u.all {
		labels[a.ID] = a.Label()
	}
	var next []signin
	for _, r := range rs {
		if u.signins.handled[r.ID] {
			continue
		}
		i := slices.IndexFunc(u.signins.pending, func(p signin) bool { return p.ID == r.ID })
		if i >= 0 {
			next = append(next, u.signins.pending[i])
			continue
		}
		s := signin{Request: r, label: labels[r.Account], expires: now.Add(time.Duration(r.ExpiresIn) * time.Second)}
		if s.label == "" {
			s.label = r.Account
		}
		next = append(next, s)
		u.notify(s)
	}
	for _, p := range u.signins.pending {
		if !slices.ContainsFunc(next, func(n signin) bool { return n.ID == p.ID }) && !u.signins.handled[p.ID] {
			u.record(p, outcomeGone)
		}
	}
	u.signins.pending = next
	u.refreshCards()
}

func (u *App) notify(s signin) {
	n := fyne.NewNotification("Sign-in request from "+clientName(s.Request), fmt.Sprintf("%s\n%s", s.BindingMessage, s.label))
	if u.deps.Approvals.Notify != nil {
		u.deps.Approvals.Notify(n)
		return
	}
	// Fyne's waits for the D-Bus answer on Linux: not on the UI
	// goroutine, where a slow notification daemon would hold back the
	// card (and every other frame) until it answered.
	go fyne.CurrentApp().SendNotification(n)
}

func clientName(r enroll.Request) string {
	if r.ClientName == "" {
		return "an application"
	}
	return r.ClientName
}

// expireRequests drops the requests whose time is up; called each tick.
func (u *App) expireRequests(now time.Time) {
	n := len(u.signins.pending)
	u.signins.pending = slices.DeleteFunc(u.signins.pending, func(s signin) bool {
		if now.Before(s.expires) {
			return false
		}
		u.record(s, outcomeExpired)
		return true
	})
	if n > 0 {
		u.refreshCards() // the countdowns
	}
}

// answer approves or denies s off the UI goroutine.
func (u *App) answer(s signin, approve bool) {
	if u.signins.handled == nil {
		u.signins.handled = map[string]bool{}
	}
	u.signins.handled[s.ID] = true
	u.signins.pending = slices.DeleteFunc(u.signins.pending, func(p signin) bool { return p.ID == s.ID })
	u.refreshCards()
	answer := u.deps.Approvals.Answer
	if answer == nil {
		return
	}
	u.background(func(ctx context.Context, st Store) error {
		_, err := answer(ctx, st, s.ID, approve)
		return err
	}, func(err error) {
		switch {
		case err != nil:
			u.showError("Could not answer the sign-in to "+clientName(s.Request), err)
		case approve:
			u.record(s, outcomeApproved)
			u.note("Approved the sign-in to " + clientName(s.Request) + ".")
		default:
			u.record(s, outcomeDenied)
			u.note("Denied the sign-in to " + clientName(s.Request) + ".")
		}
	})
}

// approvalCards is the place above the list where cards appear.
func (u *App) approvalCards() fyne.CanvasObject {
	u.signins.cards = container.NewVBox()
	u.refreshCards()
	return u.signins.cards
}

// refreshCards redraws one card per pending request.
func (u *App) refreshCards() {
	c := u.signins.cards
	if c == nil {
		return
	}
	now := u.deps.Clock.Now()
	objs := make([]fyne.CanvasObject, 0, len(u.signins.pending))
	for _, s := range u.signins.pending {
		objs = append(objs, u.card(s, now))
	}
	c.Objects = objs
	if len(objs) == 0 {
		c.Hide() // no gap above the list
		return
	}
	c.Show()
	c.Refresh()
}

// card shows one request: who asks, the binding message in large type,
// the account, the time left, and Approve / Deny. Neither button takes
// the focus: Tab reaches them and Space presses them, and Enter (which
// copies the selected code) never approves.
func (u *App) card(s signin, now time.Time) fyne.CanvasObject {
	title := widget.NewLabel("Sign-in request from " + clientName(s.Request))
	title.TextStyle = fyne.TextStyle{Bold: true}
	title.Wrapping = fyne.TextWrapWord
	msg := widget.NewLabel(s.BindingMessage)
	if s.BindingMessage == "" {
		msg.SetText("(no message)")
	}
	msg.SizeName = theme.SizeNameHeadingText
	msg.Wrapping = fyne.TextWrapWord
	left := max(0, s.expires.Sub(now).Round(time.Second))
	info := widget.NewLabel(fmt.Sprintf("%s · expires in %d:%02d", s.label, int(left.Minutes()), int(left.Seconds())%60))
	info.Importance = widget.LowImportance
	info.Wrapping = fyne.TextWrapWord
	approve := widget.NewButtonWithIcon("Approve", theme.ConfirmIcon(), func() { u.touch(); u.answer(s, true) })
	approve.Importance = widget.SuccessImportance
	deny := widget.NewButtonWithIcon("Deny", theme.CancelIcon(), func() { u.touch(); u.answer(s, false) })
	deny.Importance = widget.DangerImportance
	buttons := container.NewGridWithColumns(2, deny, approve)
	return widget.NewCard("", "", container.NewVBox(title, msg, info, buttons))
}
