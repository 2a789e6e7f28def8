// Package keymap holds every key binding of the terminal UI in one place,
// so the help screen, the short help line and the components agree.
package keymap

import "github.com/charmbracelet/bubbles/key"

// KeyMap is the set of bindings of the terminal UI. Components receive a
// pointer to the one built by DefaultKeyMap through common.Common.
type KeyMap struct {
	Up     key.Binding
	Down   key.Binding
	Home   key.Binding
	End    key.Binding
	Filter key.Binding
	Copy   key.Binding
	Add    key.Binding
	Rename key.Binding
	Delete key.Binding
	Next   key.Binding
	QR     key.Binding
	Help   key.Binding
	Quit   key.Binding

	// Dialogs and forms.
	Back     key.Binding
	Submit   key.Binding
	Yes      key.Binding
	No       key.Binding
	NextItem key.Binding
	PrevItem key.Binding

	// Sign-in requests (the approval modal and the requests view).
	Requests key.Binding
	Approve  key.Binding
	Deny     key.Binding
	Later    key.Binding
}

// DefaultKeyMap returns the bindings described in the README.
func DefaultKeyMap() *KeyMap {
	return &KeyMap{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Home:   key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("g/home", "first")),
		End:    key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("G/end", "last")),
		Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Copy:   key.NewBinding(key.WithKeys("enter", "c"), key.WithHelp("enter/c", "copy")),
		Add:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add (URI, link or form)")),
		Rename: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "rename")),
		Delete: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete")),
		Next:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next HOTP code")),
		QR:     key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "show QR")),
		Help:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:   key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Submit:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
		Yes:      key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:       key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "no")),
		NextItem: key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
		PrevItem: key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous field")),

		Requests: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "sign-in requests")),
		Approve:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "approve")),
		Deny:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "deny")),
		Later:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "later")),
	}
}

// ForceQuit is the binding that quits from any screen, even while typing.
func (k *KeyMap) ForceQuit() key.Binding {
	return key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit"))
}
