package tui

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"

	"latchkey/core/label"
	"latchkey/core/store"
	"latchkey/tui/common"
	"latchkey/tui/styles"
)

// component is the component with the keyboard, for the help line.
func (m Model) component() common.Component {
	switch m.state {
	case stateLocked, stateRename:
		return &m.prompt
	case stateAdd:
		return &m.form
	case stateConfirm:
		return &m.confirm
	case stateQR:
		return &m.qr
	case stateApproval:
		return &m.signins.modal
	case stateRequests:
		return &m.signins.view
	}
	return &m.list
}

// View implements tea.Model.
func (m Model) View() string {
	st := m.common.Styles
	w, h := m.common.Width, m.common.Height
	if w <= 0 || h <= 0 {
		return ""
	}
	var body string
	switch m.state {
	case stateLoading:
		busy := m.busy
		if busy == "" {
			busy = "Opening the account store…"
		}
		body = st.Subtle.Render(common.Truncate(busy, w))
	case stateError:
		body = st.StatusErr.Render(common.Wrap(errorText(m.err), w)) + "\n\n" + st.Subtle.Render("Press q to quit.")
	case stateLocked, stateRename:
		body = m.prompt.View()
	case stateAdd:
		body = m.form.View()
	case stateConfirm:
		body = m.confirm.View()
	case stateQR:
		body = m.qr.View()
	case stateHelp:
		body = m.helpView()
	case stateApproval, stateRequests:
		body = m.approvalView()
	default:
		body = m.list.View()
	}
	var b strings.Builder
	b.WriteString(m.headerView())
	b.WriteString("\n\n")
	bh := max(1, h-headerLines-footerLines)
	lines := strings.Split(body, "\n")
	if len(lines) > bh {
		// Say that something is hidden rather than lose it silently.
		lines = lines[:bh]
		lines[bh-1] = st.Subtle.Render(common.Truncate("… more below: make the terminal taller", w))
	}
	for len(lines) < bh {
		lines = append(lines, "")
	}
	b.WriteString(strings.Join(lines, "\n"))
	b.WriteByte('\n')
	if m.status != "" {
		style := st.Status
		if m.statusErr {
			style = st.StatusErr
		}
		b.WriteString(style.Render(common.Truncate(m.status, w)))
	}
	b.WriteByte('\n')
	b.WriteString(m.helpLine())
	// Nothing may spill past the right edge (a huge HOTP counter, a long
	// key name): the terminal would wrap it and shift every line below.
	return clip(st, b.String(), w)
}

// clip cuts every line of frame to w cells, keeping its styling.
func clip(st *styles.Styles, frame string, w int) string {
	lines := strings.Split(frame, "\n")
	cut := false
	for i, line := range lines {
		if lipgloss.Width(line) > w {
			lines[i] = st.Renderer.NewStyle().MaxWidth(w).Render(line)
			cut = true
		}
	}
	if !cut {
		return frame
	}
	return strings.Join(lines, "\n")
}

func (m Model) headerView() string {
	st := m.common.Styles
	title := st.Title.Render("Latchkey")
	var info string
	if m.state == stateList || m.state == stateHelp || m.state == stateApproval {
		n, total := m.list.Len(), len(m.list.Items())
		noun := "accounts"
		if total == 1 {
			noun = "account"
		}
		if n == total {
			info = fmt.Sprintf("%d %s", total, noun)
		} else {
			info = fmt.Sprintf("%d of %d %s", n, total, noun)
		}
		if m.opts.Backend != "" {
			info += " · " + m.opts.Backend + " store"
		}
	}
	if b := m.badge(); b != "" {
		// Pending sign-in requests, on every screen, before the rest.
		b = common.Truncate("  "+b, max(0, m.common.Width-8))
		title += st.Warning.Render(b)
		if info != "" {
			info = " · " + info
		}
		return title + st.Header.Render(common.Truncate(info, max(0, m.common.Width-8-common.Width(b))))
	}
	if info == "" {
		return title
	}
	return title + st.Header.Render(common.Truncate("  "+info, max(0, m.common.Width-8)))
}

func (m Model) helpLine() string {
	var keys []key.Binding
	switch m.state {
	case stateLoading, stateError:
		keys = []key.Binding{m.common.KeyMap.Quit}
	case stateHelp:
		keys = []key.Binding{m.common.KeyMap.Back, m.common.KeyMap.Quit}
	default:
		keys = m.component().ShortHelp()
	}
	return m.shortHelp(keys)
}

// shortHelp draws keys on one line. Where they do not fit, the ones
// before the last give way from the end: the first (what enter does) and
// the last (the way out) stay, and ? lists every key.
func (m Model) shortHelp(keys []key.Binding) string {
	h := m.help
	h.Width = 0 // measure uncut
	for len(keys) > 2 && lipgloss.Width(h.ShortHelpView(keys)) > m.common.Width {
		keys = append(keys[:len(keys)-2:len(keys)-2], keys[len(keys)-1])
	}
	return m.help.ShortHelpView(keys)
}

// helpView lists every key, one per line, in groups with the filter's
// keys below; on a short terminal the groups close up and the filter
// line goes (the filter's own key line has those keys).
func (m Model) helpView() string {
	st := m.common.Styles
	height := max(1, m.common.Height-headerLines-footerLines)
	groups := m.list.FullHelp()
	n := 1 // the title
	for _, g := range groups {
		n += len(g)
	}
	gaps := n+len(groups)-1 <= height
	var b strings.Builder
	b.WriteString(st.Title.Render("Keys"))
	for i, group := range groups {
		if i > 0 && gaps {
			b.WriteByte('\n')
		}
		for _, k := range group {
			h := k.Help()
			b.WriteString("\n" + st.Help.FullKey.Render(common.Fit(h.Key, 9)) + " " + st.Help.FullDesc.Render(h.Desc))
		}
	}
	hint := common.Wrap("Filter: type, ↑/↓ move, enter copies, esc clears. Click to select.", m.common.Width)
	if lipgloss.Height(b.String())+1+lipgloss.Height(hint) <= height {
		b.WriteString("\n\n" + st.Subtle.Render(hint))
	}
	return b.String()
}

// errorText is the one place a store error becomes words for the screen.
func errorText(err error) string {
	switch {
	case err == nil:
		return "Unknown error."
	case errors.Is(err, store.ErrKeyringUnavailable):
		// One sentence naming --store file; the D-Bus cause stays out.
		return store.ErrKeyringUnavailable.Error()
	}
	// Store errors may quote a file or a server: escaped, as every text
	// from outside.
	return "The account store cannot be used: " + label.Terminal(err.Error())
}
