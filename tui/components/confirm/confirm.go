// Package confirm is a yes/no question (deleting an account, showing a
// secret as a QR code).
package confirm

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/label"
	"latchkey/tui/common"
)

// ResultMsg is the answer to the question named ID.
type ResultMsg struct {
	ID  string
	Yes bool
}

// ResultCmd returns the command delivering a ResultMsg.
func ResultCmd(id string, yes bool) tea.Cmd {
	return func() tea.Msg { return ResultMsg{ID: id, Yes: yes} }
}

// Model is the confirmation component. Only y answers yes; anything
// else listed under No answers no.
type Model struct {
	common.Common
	id, title, body string
	danger          bool
}

// New returns a question; danger draws the title as a warning.
func New(c common.Common, id, title, body string, danger bool) Model {
	return Model{Common: c, id: id, title: title, body: body, danger: danger}
}

// ID is the question's name.
func (m Model) ID() string { return m.id }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) { m.Common.SetSize(width, height) }

// Update answers on y or n/esc.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, m.KeyMap.Yes):
			return m, ResultCmd(m.id, true)
		case key.Matches(k, m.KeyMap.No):
			return m, ResultCmd(m.id, false)
		}
	}
	return m, nil
}

// ShortHelp implements help.KeyMap.
func (m Model) ShortHelp() []key.Binding { return []key.Binding{m.KeyMap.Yes, m.KeyMap.No} }

// FullHelp implements help.KeyMap.
func (m Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// View draws the question.
func (m Model) View() string {
	st := m.Styles
	title := st.Title
	if m.danger {
		title = st.Warning
	}
	var b strings.Builder
	b.WriteString(title.Render(common.Wrap(label.Line(m.title), m.Width)))
	if m.body != "" {
		b.WriteString("\n\n")
		b.WriteString(common.Wrap(label.Terminal(m.body), m.Width))
	}
	b.WriteString("\n\n")
	b.WriteString(st.Label.Render("y") + st.Subtle.Render(" yes   ") + st.Label.Render("n") + st.Subtle.Render(" no"))
	return b.String()
}
