// Package qrview is the TUI screen that shows an otpauth URI as a QR code
// (drawn by core/qr with half blocks, two modules per character cell
// vertically), so it can be scanned by a phone straight from the terminal.
package qrview

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/label"
	"latchkey/core/qr"
	"latchkey/tui/common"
)

// Quiet is the light border, in modules, drawn around the code (half of
// qr.Quiet, so that the code fits smaller terminals).
const Quiet = 2

// CloseMsg says the QR screen was dismissed.
type CloseMsg struct{}

// CloseCmd returns the command delivering a CloseMsg.
func CloseCmd() tea.Msg { return CloseMsg{} }

// Model is the QR screen.
type Model struct {
	common.Common
	title string
	art   string // the half-block drawing, without styling
	cols  int    // its width in cells
	err   error
}

// New encodes uri for account label.
func New(c common.Common, label, uri string) Model {
	m := Model{Common: c, title: label}
	// Low error correction: the code is read straight off the screen,
	// and fewer modules fit smaller terminals.
	code, err := qr.Encode(uri, qr.Low)
	if err != nil {
		m.err = err
		return m
	}
	m.art = code.Blocks(Quiet)
	m.cols = code.Size() + 2*Quiet
	return m
}

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) { m.Common.SetSize(width, height) }

// Update closes the screen on esc, q, v or enter.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyMsg); ok {
		km := m.KeyMap
		if key.Matches(k, km.Back, km.Quit, km.QR, km.Submit) {
			return m, CloseCmd
		}
	}
	return m, nil
}

// ShortHelp implements help.KeyMap.
func (m Model) ShortHelp() []key.Binding {
	return []key.Binding{key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "hide"))}
}

// FullHelp implements help.KeyMap.
func (m Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// View draws the code, or says how wide the terminal must be.
func (m Model) View() string {
	st := m.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render(common.Truncate(label.Line(m.title), m.Width)))
	b.WriteByte('\n')
	if m.err != nil {
		b.WriteString(st.StatusErr.Render(common.Wrap(m.err.Error(), m.Width)))
		return b.String()
	}
	rows := strings.Count(m.art, "\n") + 1
	if m.cols > m.Width || rows+3 > m.Height {
		b.WriteString(st.StatusErr.Render(common.Wrap(fmt.Sprintf(
			"The QR code needs a terminal of at least %d columns and %d lines; make it larger or use `latchkey qr -o FILE.png`.",
			m.cols, rows+3), m.Width)))
		return b.String()
	}
	b.WriteString(st.Warning.Render(common.Truncate("Secret on screen: hide it with esc.", m.Width)))
	b.WriteByte('\n')
	for i, line := range strings.Split(m.art, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(st.QR.Render(line))
	}
	return b.String()
}
