// Package requests is the view listing the pending sign-in requests of
// the paired accounts; enter opens one in the approval modal.
package requests

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/label"
	"latchkey/tui/common"
	"latchkey/tui/components/approval"
)

// OpenMsg asks to open the request named ID in the approval modal.
type OpenMsg struct{ ID string }

// OpenCmd returns the command delivering an OpenMsg.
func OpenCmd(id string) tea.Cmd { return func() tea.Msg { return OpenMsg{ID: id} } }

// CloseMsg leaves the view.
type CloseMsg struct{}

// CloseCmd returns the command delivering a CloseMsg.
func CloseCmd() tea.Cmd { return func() tea.Msg { return CloseMsg{} } }

// Model is the requests view.
type Model struct {
	common.Common
	reqs []approval.Request
	sel  int
}

// New returns the view.
func New(c common.Common) Model { return Model{Common: c} }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) { m.Common.SetSize(width, height) }

// SetRequests replaces the list, keeping the selected request selected.
func (m *Model) SetRequests(rs []approval.Request) {
	id := ""
	if m.sel >= 0 && m.sel < len(m.reqs) {
		id = m.reqs[m.sel].ID
	}
	m.reqs, m.sel = rs, 0
	for i, r := range rs {
		if r.ID == id {
			m.sel = i
		}
	}
}

// Update moves with ↑/↓, opens with enter and leaves with esc.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	km := m.KeyMap
	switch {
	case key.Matches(k, km.Up):
		m.sel = max(0, m.sel-1)
	case key.Matches(k, km.Down):
		m.sel = max(0, min(len(m.reqs)-1, m.sel+1))
	case key.Matches(k, km.Submit):
		if m.sel < len(m.reqs) {
			return m, OpenCmd(m.reqs[m.sel].ID)
		}
	case key.Matches(k, km.Back, km.Requests):
		return m, CloseCmd()
	}
	return m, nil
}

// ShortHelp implements help.KeyMap.
func (m Model) ShortHelp() []key.Binding {
	open := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "answer"))
	return []key.Binding{open, m.KeyMap.Up, m.KeyMap.Down, m.KeyMap.Back}
}

// FullHelp implements help.KeyMap.
func (m Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// View draws one line per request: account, client, message, time left.
func (m Model) View() string {
	st := m.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Sign-in requests"))
	if len(m.reqs) == 0 {
		b.WriteString("\n\n" + st.Subtle.Render(common.Wrap("No pending sign-in requests.", m.Width)))
		return b.String()
	}
	now := m.Now()
	for i, r := range m.reqs {
		cursor := "  "
		if i == m.sel {
			cursor = st.Cursor.Render("> ")
		}
		left := approval.Left(r.Expires, now)
		msg := r.BindingMessage
		if msg == "" {
			msg = "(no message)"
		}
		text := label.Line(msg + " · " + r.Client + " · " + r.Account)
		b.WriteString("\n" + cursor + common.Fit(text, max(1, m.Width-2-len(left)-1)) + " " + st.Subtle.Render(left))
	}
	return b.String()
}
