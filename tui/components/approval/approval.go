// Package approval is the sign-in approval modal: one pending OpenID
// CIBA request (the client's name, its binding message, the account and
// the time left), answered with y (approve) or n (deny); esc leaves it
// pending.
package approval

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"latchkey/core/label"
	"latchkey/tui/common"
)

// Request is what the modal shows of a pending request. Its texts come
// from a server: core/enroll cleaned them, and View escapes what is left.
type Request struct {
	ID             string
	Client         string // the client's name
	BindingMessage string
	Account        string // the local account's label
	Expires        time.Time
}

// AnswerMsg asks to approve or deny the request named ID.
type AnswerMsg struct {
	ID      string
	Approve bool
}

// AnswerCmd returns the command delivering an AnswerMsg.
func AnswerCmd(id string, approve bool) tea.Cmd {
	return func() tea.Msg { return AnswerMsg{ID: id, Approve: approve} }
}

// LaterMsg closes the modal, leaving the request named ID pending.
type LaterMsg struct{ ID string }

// LaterCmd returns the command delivering a LaterMsg.
func LaterCmd(id string) tea.Cmd {
	return func() tea.Msg { return LaterMsg{ID: id} }
}

// Model is the approval modal.
type Model struct {
	common.Common
	req Request
}

// New returns the modal for r.
func New(c common.Common, r Request) Model { return Model{Common: c, req: r} }

// Request is the request shown.
func (m Model) Request() Request { return m.req }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) { m.Common.SetSize(width, height) }

// Update answers on y or n and leaves on esc; other keys do nothing, so
// that no stray key answers a sign-in.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, m.KeyMap.Approve):
			return m, AnswerCmd(m.req.ID, true)
		case key.Matches(k, m.KeyMap.Deny):
			return m, AnswerCmd(m.req.ID, false)
		case key.Matches(k, m.KeyMap.Later):
			return m, LaterCmd(m.req.ID)
		}
	}
	return m, nil
}

// ShortHelp implements help.KeyMap.
func (m Model) ShortHelp() []key.Binding {
	return []key.Binding{m.KeyMap.Approve, m.KeyMap.Deny, m.KeyMap.Later}
}

// FullHelp implements help.KeyMap.
func (m Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// Left is the time left to answer at now, in whole seconds (never below 0).
func Left(expires, now time.Time) string {
	d := max(0, expires.Sub(now).Round(time.Second))
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// View draws the modal as a box of at most 60 cells, to be laid over the
// list.
func (m Model) View() string {
	st := m.Styles
	box := st.Dialog
	inner := max(10, min(60, m.Width)-box.GetHorizontalFrameSize())
	line := func(s string) string { return common.Wrap(label.Line(s), inner) }
	client := m.req.Client
	if client == "" {
		client = "An application"
	}
	msg := m.req.BindingMessage
	var b strings.Builder
	b.WriteString(st.Title.Render(common.Truncate("Sign-in request", inner)))
	b.WriteString("\n\n")
	b.WriteString(line(client + " asks to sign in as"))
	b.WriteString("\n")
	b.WriteString(st.Issuer.Render(line(m.req.Account)))
	b.WriteString("\n\n")
	if msg == "" {
		b.WriteString(st.Subtle.Render(line("(no message)")))
	} else {
		// The binding message in large type: what the user compares
		// with the screen that asked.
		b.WriteString(st.Code.Render(line(msg)))
	}
	b.WriteString("\n\n")
	b.WriteString(st.Subtle.Render(line("Approve only if you are signing in and the message matches.")))
	b.WriteString("\n")
	b.WriteString(st.Subtle.Render(line("Expires in " + Left(m.req.Expires, m.Now()))))
	b.WriteString("\n\n")
	b.WriteString(st.Label.Render("y") + st.Subtle.Render(" approve   ") + st.Label.Render("n") + st.Subtle.Render(" deny   ") +
		st.Label.Render("esc") + st.Subtle.Render(" later"))
	return box.Width(inner + box.GetHorizontalPadding()).Render(b.String())
}

// Overlay lays box over the middle of base, which is height lines of
// width cells: the lines under the box are replaced, the others stay.
func Overlay(base, box string, width, height int) string {
	lines := strings.Split(base, "\n")
	for len(lines) < height {
		lines = append(lines, "")
	}
	bl := strings.Split(box, "\n")
	top := max(0, (len(lines)-len(bl))/2)
	for i, l := range bl {
		if top+i >= len(lines) {
			break
		}
		lines[top+i] = lipgloss.PlaceHorizontal(width, lipgloss.Center, l)
	}
	return strings.Join(lines, "\n")
}
