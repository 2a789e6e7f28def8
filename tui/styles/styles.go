// Package styles defines every lipgloss style of the terminal UI. Colours
// are adaptive (one value for light, one for dark backgrounds); NO_COLOR is
// honoured by giving the renderer the Ascii profile, which drops colour.
package styles

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
)

// Styles is the one set of styles the UI draws with.
type Styles struct {
	Renderer *lipgloss.Renderer

	App       lipgloss.Style
	Title     lipgloss.Style
	Subtle    lipgloss.Style
	Header    lipgloss.Style
	Cursor    lipgloss.Style
	Selected  lipgloss.Style
	Issuer    lipgloss.Style
	Name      lipgloss.Style
	Tags      lipgloss.Style
	Details   lipgloss.Style
	Code      lipgloss.Style
	CodeWarn  lipgloss.Style
	NextCode  lipgloss.Style
	BarFull   lipgloss.Style
	BarWarn   lipgloss.Style
	BarEmpty  lipgloss.Style
	Match     lipgloss.Style
	Status    lipgloss.Style
	StatusErr lipgloss.Style
	Dialog    lipgloss.Style
	Label     lipgloss.Style
	FieldErr  lipgloss.Style
	Warning   lipgloss.Style
	QR        lipgloss.Style
	Help      help.Styles
}

// Palette entries: each adapts to the terminal background.
var (
	accent = lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#B8A6FF"}
	subtle = lipgloss.AdaptiveColor{Light: "#767676", Dark: "#8A8A8A"}
	faint  = lipgloss.AdaptiveColor{Light: "#C8C8C8", Dark: "#3C3C3C"}
	good   = lipgloss.AdaptiveColor{Light: "#1B7F3B", Dark: "#5FD787"}
	warn   = lipgloss.AdaptiveColor{Light: "#C0262D", Dark: "#FF6B6B"}
	text   = lipgloss.AdaptiveColor{Light: "#1A1A1A", Dark: "#EDEDED"}
)

// DefaultStyles returns the styles bound to r (nil means lipgloss's
// default renderer).
func DefaultStyles(r *lipgloss.Renderer) *Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	n := r.NewStyle
	s := &Styles{Renderer: r}
	s.App = n()
	s.Title = n().Bold(true).Foreground(accent)
	s.Subtle = n().Foreground(subtle)
	s.Header = n().Foreground(subtle)
	s.Cursor = n().Foreground(accent).Bold(true)
	s.Selected = n().Bold(true).Foreground(text)
	s.Issuer = n().Bold(true)
	s.Name = n()
	s.Tags = n().Foreground(accent)
	s.Details = n().Foreground(subtle)
	s.Code = n().Bold(true).Foreground(good)
	s.CodeWarn = n().Bold(true).Foreground(warn)
	s.NextCode = n().Foreground(subtle)
	s.BarFull = n().Foreground(good)
	s.BarWarn = n().Foreground(warn)
	s.BarEmpty = n().Foreground(faint)
	s.Match = n().Underline(true).Foreground(accent)
	s.Status = n().Foreground(good)
	s.StatusErr = n().Foreground(warn)
	s.Dialog = n().Border(lipgloss.RoundedBorder()).BorderForeground(accent).Padding(0, 1)
	s.Label = n().Bold(true)
	s.FieldErr = n().Foreground(warn)
	s.Warning = n().Bold(true).Foreground(warn)
	// A QR code needs dark modules on a light ground whatever the theme.
	s.QR = n().Foreground(lipgloss.Color("#FFFFFF")).Background(lipgloss.Color("#000000"))
	keyStyle := n().Foreground(accent)
	descStyle := n().Foreground(subtle)
	sep := n().Foreground(faint)
	s.Help = help.Styles{
		Ellipsis: sep, ShortKey: keyStyle, ShortDesc: descStyle, ShortSeparator: sep,
		FullKey: keyStyle, FullDesc: descStyle, FullSeparator: sep,
	}
	return s
}
