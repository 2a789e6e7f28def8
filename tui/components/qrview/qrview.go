// Package qrview shows an otpauth URI as a QR code drawn with half-block
// characters, two modules per character cell vertically, so it can be
// scanned by a phone straight from the terminal.
package qrview

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	qrcode "github.com/skip2/go-qrcode"

	"latchkey/tui/common"
)

// Quiet is the light border, in modules, drawn around the code.
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
	q, err := qrcode.New(uri, qrcode.Low)
	if err != nil {
		m.err = fmt.Errorf("qr: %w", err)
		return m
	}
	q.DisableBorder = true
	m.art = Render(q.Bitmap(), Quiet)
	m.cols = len(q.Bitmap()) + 2*Quiet
	return m
}

// Render draws bitmap (true = dark module) with a quiet border of light
// modules. A light module is a lit cell: "█" both halves, "▀" the top,
// "▄" the bottom, " " neither; rows are joined with "\n".
func Render(bitmap [][]bool, quiet int) string {
	n := len(bitmap)
	size := n + 2*quiet
	light := func(x, y int) bool {
		x, y = x-quiet, y-quiet
		if x < 0 || y < 0 || x >= n || y >= n {
			return true
		}
		return !bitmap[y][x]
	}
	var b strings.Builder
	for y := 0; y < size; y += 2 {
		if y > 0 {
			b.WriteByte('\n')
		}
		for x := 0; x < size; x++ {
			top := light(x, y)
			bottom := y+1 < size && light(x, y+1)
			switch {
			case top && bottom:
				b.WriteString("█")
			case top:
				b.WriteString("▀")
			case bottom:
				b.WriteString("▄")
			default:
				b.WriteByte(' ')
			}
		}
	}
	return b.String()
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
	b.WriteString(st.Title.Render(common.Truncate(m.title, m.Width)))
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
