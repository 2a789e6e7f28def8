package tui

import (
	"context"
	"fmt"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/enroll"
	"latchkey/tui/components/approval"
	"latchkey/tui/components/requests"
)

// Approvals connects the UI to the sign-in requests of the store's
// paired accounts (OpenID CIBA). The command line builds them over
// core/enroll (Listener, AnswerRequest); tests use fakes.
type Approvals struct {
	// Listen runs until ctx ends, calling seen with every paired
	// account's pending requests each time they change (an
	// enroll.Listener over s). It runs on its own goroutine; nil means
	// no requests are shown.
	Listen func(ctx context.Context, s Store, seen func([]enroll.Request))
	// Answer approves or denies the pending request id, with the
	// account's current code when its client asks for one
	// (enroll.AnswerRequest); it returns the server's status.
	Answer func(ctx context.Context, s Store, id string, approve bool) (status string, err error)
}

// RequestsMsg carries the pending sign-in requests, as the listener saw
// them last.
type RequestsMsg struct{ Requests []enroll.Request }

// AnsweredMsg is the outcome of answering a request.
type AnsweredMsg struct {
	Request approval.Request
	Approve bool
	Status  string
	Err     error
}

// signins is the model's part for sign-in requests.
type signins struct {
	ch      chan []enroll.Request // from the listener; nil until it starts
	pending []approval.Request    // in the listener's order
	later   map[string]bool       // left pending with esc: not opened again by itself
	handled map[string]bool       // answered here: hidden even if a poll still lists it
	modal   approval.Model
	view    requests.Model
	back    state // where the modal returns to
}

// listenCmd starts the listener on its own goroutine; what it sees comes
// back through waitRequestsCmd.
func listenCmd(ctx context.Context, listen func(context.Context, Store, func([]enroll.Request)), s Store, ch chan []enroll.Request) tea.Cmd {
	return func() tea.Msg {
		go listen(ctx, s, func(rs []enroll.Request) {
			select {
			case ch <- rs:
			case <-ctx.Done():
			}
		})
		return nil
	}
}

// waitRequestsCmd delivers the listener's next RequestsMsg.
func waitRequestsCmd(ctx context.Context, ch chan []enroll.Request) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		select {
		case rs := <-ch:
			return RequestsMsg{Requests: rs}
		case <-ctx.Done():
			return nil
		}
	}
}

// answerCmd answers r through a.
func answerCmd(ctx context.Context, a Approvals, s Store, r approval.Request, approve bool) tea.Cmd {
	return func() tea.Msg {
		status, err := a.Answer(ctx, s, r.ID, approve)
		return AnsweredMsg{Request: r, Approve: approve, Status: status, Err: err}
	}
}

// startListening starts the listener once, after the store first opened.
func (m *Model) startListening() tea.Cmd {
	if m.opts.Approvals.Listen == nil || m.signins.ch != nil || m.store == nil {
		return nil
	}
	m.signins.ch = make(chan []enroll.Request)
	return tea.Batch(listenCmd(m.common.Ctx, m.opts.Approvals.Listen, m.store, m.signins.ch),
		waitRequestsCmd(m.common.Ctx, m.signins.ch))
}

// requestsSeen takes the listener's list: new requests start their
// countdown now, those gone (answered elsewhere, expired) disappear, and
// the first new one opens the modal if the list is on screen.
func (m Model) requestsSeen(msg RequestsMsg) (tea.Model, tea.Cmd) {
	now := m.common.Now()
	labels := map[string]string{}
	for _, it := range m.list.Items() {
		labels[it.ID] = it.Label()
	}
	var next []approval.Request
	for _, r := range msg.Requests {
		if m.signins.handled[r.ID] {
			continue
		}
		ar := approval.Request{ID: r.ID, Client: r.ClientName, BindingMessage: r.BindingMessage,
			Account: labels[r.Account], Expires: now.Add(time.Duration(r.ExpiresIn) * time.Second)}
		if ar.Account == "" {
			ar.Account = r.Account
		}
		if i := slices.IndexFunc(m.signins.pending, func(p approval.Request) bool { return p.ID == r.ID }); i >= 0 {
			ar.Expires = m.signins.pending[i].Expires
		}
		next = append(next, ar)
	}
	m.signins.pending = next
	m.signins.view.SetRequests(next)
	m.requestsChanged("was answered elsewhere or expired")
	m.openNext()
	return m, waitRequestsCmd(m.common.Ctx, m.signins.ch)
}

// expire drops requests whose time is up; called on each tick.
func (m *Model) expire() {
	now := m.common.Now()
	n := len(m.signins.pending)
	m.signins.pending = slices.DeleteFunc(m.signins.pending, func(r approval.Request) bool { return !now.Before(r.Expires) })
	if len(m.signins.pending) != n {
		m.signins.view.SetRequests(m.signins.pending)
		m.requestsChanged("expired")
	}
	m.openNext()
}

// requestsChanged closes the modal when its request is no longer
// pending, saying why.
func (m *Model) requestsChanged(why string) {
	if m.state != stateApproval {
		return
	}
	r := m.signins.modal.Request()
	if slices.ContainsFunc(m.signins.pending, func(p approval.Request) bool { return p.ID == r.ID }) {
		return
	}
	m.state = m.signins.back
	m.setStatus(false, "The sign-in request from %s %s.", r.Client, why)
}

// openNext opens the modal for the first pending request not left for
// later, when the list is on screen (never over a form being typed).
func (m *Model) openNext() {
	if m.state != stateList || m.list.Filtering() {
		return
	}
	for _, r := range m.signins.pending {
		if !m.signins.later[r.ID] {
			m.openRequest(r, stateList)
			return
		}
	}
}

func (m *Model) openRequest(r approval.Request, back state) {
	m.signins.modal = approval.New(m.bodyCommon(), r)
	m.signins.back = back
	m.state = stateApproval
}

func (m *Model) findRequest(id string) (approval.Request, bool) {
	i := slices.IndexFunc(m.signins.pending, func(p approval.Request) bool { return p.ID == id })
	if i < 0 {
		return approval.Request{}, false
	}
	return m.signins.pending[i], true
}

// approvalMsg handles the messages of the modal and the requests view.
func (m Model) approvalMsg(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case approval.AnswerMsg:
		r, ok := m.findRequest(msg.ID)
		m.state = m.signins.back
		if !ok || m.opts.Approvals.Answer == nil {
			return m, nil
		}
		if m.signins.handled == nil {
			m.signins.handled = map[string]bool{}
		}
		m.signins.handled[r.ID] = true
		m.signins.pending = slices.DeleteFunc(m.signins.pending, func(p approval.Request) bool { return p.ID == r.ID })
		m.signins.view.SetRequests(m.signins.pending)
		verb := "Denying"
		if msg.Approve {
			verb = "Approving"
		}
		m.setStatus(false, "%s the sign-in to %s…", verb, r.Client)
		return m, answerCmd(m.common.Ctx, m.opts.Approvals, m.store, r, msg.Approve)
	case approval.LaterMsg:
		if m.signins.later == nil {
			m.signins.later = map[string]bool{}
		}
		m.signins.later[msg.ID] = true
		m.state = m.signins.back
		m.setStatus(false, "Left pending: r lists the sign-in requests.")
		return m, nil
	case AnsweredMsg:
		r := msg.Request
		switch {
		case msg.Err != nil:
			m.setStatus(true, "Could not answer the sign-in to %s: %v", r.Client, msg.Err)
		case msg.Approve:
			m.setStatus(false, "Approved the sign-in to %s (%s).", r.Client, r.BindingMessage)
		default:
			m.setStatus(false, "Denied the sign-in to %s (%s).", r.Client, r.BindingMessage)
		}
		m.openNext()
		return m, nil
	case requests.OpenMsg:
		if r, ok := m.findRequest(msg.ID); ok {
			m.openRequest(r, stateRequests)
		}
		return m, nil
	case requests.CloseMsg:
		m.state = stateList
		return m, nil
	}
	return m, nil
}

// showRequests opens the requests view.
func (m Model) showRequests() (tea.Model, tea.Cmd) {
	m.signins.view = requests.New(m.bodyCommon())
	m.signins.view.SetRequests(m.signins.pending)
	m.state = stateRequests
	return m, nil
}

// badge counts the pending requests for the header.
func (m Model) badge() string {
	switch n := len(m.signins.pending); n {
	case 0:
		return ""
	case 1:
		return "1 sign-in request"
	default:
		return fmt.Sprintf("%d sign-in requests", n)
	}
}

// approvalView draws the requests view, or the modal over the screen it
// came from.
func (m Model) approvalView() string {
	under := m.list.View()
	if m.state == stateRequests || m.signins.back == stateRequests {
		under = m.signins.view.View()
	}
	if m.state == stateRequests {
		return under
	}
	bw, bh := m.common.Width, max(1, m.common.Height-headerLines-footerLines)
	return approval.Overlay(under, m.signins.modal.View(), bw, bh)
}
