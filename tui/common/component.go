package common

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/lipgloss"
)

// Component is what every part of the UI offers its parent: its own key
// help, a size and a view. Update stays on the concrete type (as in the
// bubbles library) so callers keep the concrete model.
type Component interface {
	help.KeyMap
	SetSize(width, height int)
	View() string
}

// Fit cuts s to at most w cells (ending in "…" when cut) and pads it with
// spaces to exactly w cells. s must not contain escape sequences.
func Fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := lipgloss.Width(s)
	if sw <= w {
		return s + strings.Repeat(" ", w-sw)
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		rw := lipgloss.Width(string(r))
		if used+rw > w-1 {
			break
		}
		b.WriteRune(r)
		used += rw
	}
	b.WriteString("…")
	used++
	return b.String() + strings.Repeat(" ", w-used)
}

// Truncate cuts s to at most w cells without padding.
func Truncate(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return strings.TrimRight(Fit(s, w), " ")
}

// Width is the number of cells s takes.
func Width(s string) int { return lipgloss.Width(s) }

// Wrap breaks s into lines of at most w cells at spaces.
func Wrap(s string, w int) string {
	if w <= 0 {
		return s
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case Width(line)+1+Width(word) <= w:
				line += " " + word
			default:
				out = append(out, Truncate(line, w))
				line = word
			}
		}
		out = append(out, Truncate(line, w))
	}
	return strings.Join(out, "\n")
}

// NewInput returns a text field drawn with c's styles and a steady cursor
// (no blink timer: fewer redraws, and tests need no waiting).
func NewInput(c Common) textinput.Model {
	in := textinput.New()
	r := c.Styles.Renderer
	in.PromptStyle = c.Styles.Cursor
	in.PlaceholderStyle = c.Styles.Subtle
	in.TextStyle = r.NewStyle()
	in.Cursor.Style = r.NewStyle().Reverse(true)
	in.Cursor.TextStyle = r.NewStyle()
	in.Cursor.SetMode(cursor.CursorStatic)
	return in
}

// Mark draws fitted, which Fit or Truncate made of s, in base, with the
// runes of s at the byte offsets in marked (ascending) drawn in mark
// instead: the letters a filter matched. Offsets past what fitted kept
// of s mark nothing.
func Mark(fitted, s string, marked []int, base, mark lipgloss.Style) string {
	if len(marked) == 0 {
		return base.Render(fitted)
	}
	kept := 0 // bytes of s that fitted starts with
	for kept < len(fitted) && kept < len(s) && fitted[kept] == s[kept] {
		kept++
	}
	var b, run strings.Builder
	runMarked := false
	flush := func() {
		if run.Len() == 0 {
			return
		}
		st := base
		if runMarked {
			st = mark
		}
		b.WriteString(st.Render(run.String()))
		run.Reset()
	}
	k := 0
	for i, r := range fitted {
		for k < len(marked) && marked[k] < i {
			k++
		}
		m := i < kept && k < len(marked) && marked[k] == i
		if m != runMarked {
			flush()
			runMarked = m
		}
		run.WriteRune(r)
	}
	flush()
	return b.String()
}
