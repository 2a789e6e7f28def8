// Package prompt is a one-line question with a text field: renaming an
// account, or the passphrase of the file store.
package prompt

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/label"
	"latchkey/tui/common"
)

// SubmitMsg carries the accepted value of the prompt named ID.
type SubmitMsg struct {
	ID    string
	Value string
}

// CancelMsg says the prompt named ID was dismissed.
type CancelMsg struct{ ID string }

// SubmitCmd returns the command delivering a SubmitMsg.
func SubmitCmd(id, value string) tea.Cmd {
	return func() tea.Msg { return SubmitMsg{ID: id, Value: value} }
}

// CancelCmd returns the command delivering a CancelMsg.
func CancelCmd(id string) tea.Cmd {
	return func() tea.Msg { return CancelMsg{ID: id} }
}

// Options configures a prompt.
type Options struct {
	ID       string
	Title    string
	Hint     string // a line under the title (may be empty)
	Value    string // initial text
	Secret   bool   // echo '*' instead of the text
	Validate func(string) error
	// Cancel reports whether Esc may dismiss the prompt (false on the
	// passphrase screen, where q/ctrl+c quit instead).
	Cancel bool
}

// Model is the prompt component.
type Model struct {
	common.Common
	opts  Options
	input textinput.Model
	err   string
}

// New returns a focused prompt.
func New(c common.Common, o Options) Model {
	in := common.NewInput(c)
	in.Prompt = "> "
	in.SetValue(o.Value)
	if o.Secret {
		in.EchoMode = textinput.EchoPassword
		in.EchoCharacter = '*'
	}
	in.Focus()
	m := Model{Common: c, opts: o, input: in}
	m.SetSize(c.Width, c.Height)
	return m
}

// ID is the prompt's name.
func (m Model) ID() string { return m.opts.ID }

// SetError shows err under the field (e.g. a wrong passphrase).
func (m *Model) SetError(err string) { m.err = err }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.Common.SetSize(width, height)
	m.input.Width = max(1, width-4)
}

// Update handles typing, Enter and Esc.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		switch {
		case key.Matches(k, m.KeyMap.Submit):
			v := m.input.Value()
			if !m.opts.Secret {
				v = strings.TrimSpace(v)
			}
			if m.opts.Validate != nil {
				if err := m.opts.Validate(v); err != nil {
					m.err = err.Error()
					return m, nil
				}
			}
			m.err = ""
			return m, SubmitCmd(m.opts.ID, v)
		case key.Matches(k, m.KeyMap.Back) && m.opts.Cancel:
			return m, CancelCmd(m.opts.ID)
		}
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

// ShortHelp implements help.KeyMap.
func (m Model) ShortHelp() []key.Binding {
	b := []key.Binding{m.KeyMap.Submit}
	if m.opts.Cancel {
		b = append(b, m.KeyMap.Back)
	} else {
		b = append(b, m.KeyMap.ForceQuit())
	}
	return b
}

// FullHelp implements help.KeyMap.
func (m Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// View draws the title, the hint, the field and any error.
func (m Model) View() string {
	st := m.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render(common.Truncate(label.Line(m.opts.Title), m.Width)))
	b.WriteByte('\n')
	if m.opts.Hint != "" {
		b.WriteString(st.Subtle.Render(wrap(label.Terminal(m.opts.Hint), m.Width)))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(m.input.View())
	if m.err != "" {
		b.WriteByte('\n')
		b.WriteString(st.FieldErr.Render(wrap("✗ "+label.Terminal(m.err), m.Width)))
	}
	return b.String()
}

func wrap(s string, w int) string {
	return common.Wrap(s, w)
}
