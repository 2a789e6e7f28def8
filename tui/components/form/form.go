// Package form is the "add an account" form: paste an otpauth URI or an
// enrollment link from a Latchkey server, or fill in the fields one by one;
// each field is validated as it is typed, with a message naming what is
// wrong.
package form

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/enroll"
	"latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/tui/common"
)

// SubmitMsg carries the key the form describes.
type SubmitMsg struct{ Key *otpauth.Key }

// EnrollMsg carries an enrollment link (SERVER/enroll#TOKEN) pasted into
// the URI field; core/enroll.ParseLink accepts it. The link is single-use:
// never print or log it.
type EnrollMsg struct{ Link string }

// CancelMsg says the form was dismissed.
type CancelMsg struct{}

// SubmitCmd returns the command delivering a SubmitMsg.
func SubmitCmd(k *otpauth.Key) tea.Cmd {
	return func() tea.Msg { return SubmitMsg{Key: k} }
}

// EnrollCmd returns the command delivering an EnrollMsg.
func EnrollCmd(link string) tea.Cmd {
	return func() tea.Msg { return EnrollMsg{Link: link} }
}

// CancelCmd delivers a CancelMsg.
func CancelCmd() tea.Msg { return CancelMsg{} }

// Field indexes.
const (
	URI = iota
	Issuer
	Name
	Secret
	Type
	Algorithm
	Digits
	Period
	Counter
	numFields
)

var labels = [numFields]string{"URI", "Issuer", "Name", "Secret", "Type", "Algorithm", "Digits", "Period", "Counter"}

var placeholders = [numFields]string{
	"paste otpauth://… or an enrollment link (or leave empty)", "e.g. GitHub (optional)", "e.g. alice@example.com",
	"base32, e.g. JBSWY3DPEHPK3PXP", "totp or hotp", "SHA1, SHA256 or SHA512", "6, 7 or 8",
	"seconds, usually 30", "HOTP only: the next counter",
}

var defaults = [numFields]string{Type: "TOTP", Algorithm: "SHA1", Digits: "6", Period: "30", Counter: "0"}

// choices are the options of the fields that are choices, as shown; the
// field's text is the option picked (otp.ParseType and ParseAlgorithm
// read any case).
var choices = [numFields][]string{
	Type:      {"TOTP", "HOTP", "Steam"},
	Algorithm: {"SHA1", "SHA256", "SHA512"},
	Digits:    {"6", "7", "8"},
}

// Model is the form component.
type Model struct {
	common.Common
	inputs  [numFields]textinput.Model
	errs    [numFields]string
	touched [numFields]bool
	focus   int
	err     string // a message about the whole form (e.g. a duplicate)
}

// New returns an empty form with the URI field focused.
func New(c common.Common) Model {
	m := Model{Common: c}
	for i := range m.inputs {
		in := common.NewInput(c)
		in.Prompt = ""
		in.Placeholder = placeholders[i]
		in.SetValue(defaults[i])
		in.CharLimit = otpauth.MaxLen
		if i == URI || i == Secret {
			// The URI holds the secret too (a link its one-time token);
			// neither is echoed.
			in.EchoMode = textinput.EchoPassword
			in.EchoCharacter = '•'
		}
		m.inputs[i] = in
	}
	m.inputs[URI].Focus()
	m.SetSize(c.Width, c.Height)
	return m
}

// SetError shows a message about the whole form (the store refused it).
func (m *Model) SetError(s string) { m.err = s }

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.Common.SetSize(width, height)
	for i := range m.inputs {
		m.inputs[i].Width = max(1, width-13)
	}
}

// Focused is the index of the field with the keyboard.
func (m Model) Focused() int { return m.focus }

// Value is the text of field i.
func (m Model) Value(i int) string { return m.inputs[i].Value() }

// Error is the validation message of field i ("" when valid or untouched).
func (m Model) Error(i int) string { return m.errs[i] }

func (m *Model) setFocus(i int) tea.Cmd {
	m.touched[m.focus] = true
	m.validate()
	m.inputs[m.focus].Blur()
	step := 1
	if i < m.focus {
		step = -1
	}
	m.focus = (i + numFields) % numFields
	for m.hidden(m.focus) {
		m.focus = (m.focus + step + numFields) % numFields
	}
	if m.usesURI() && m.focus != URI {
		// Only the URI matters once one is given.
		m.focus = URI
	}
	return m.inputs[m.focus].Focus()
}

// typ is the type picked (TOTP when the text is none).
func (m Model) typ() otp.Type {
	t, err := otp.ParseType(m.inputs[Type].Value())
	if err != nil {
		return otp.TOTP
	}
	return t
}

// hidden reports whether field i means nothing for the type picked: the
// counter is HOTP's, the period the time-based types', and Steam codes
// have a fixed length.
func (m Model) hidden(i int) bool {
	switch i {
	case Counter:
		return m.typ() != otp.HOTP
	case Period:
		return !m.typ().TimeBased()
	case Digits:
		return m.typ() == otp.Steam
	}
	return false
}

// choose moves choice field i by d options, or (d == 0) to the next
// option starting with r.
func (m *Model) choose(i, d int, r rune) {
	opts := choices[i]
	cur := slices.IndexFunc(opts, func(o string) bool { return strings.EqualFold(o, strings.TrimSpace(m.inputs[i].Value())) })
	next := cur
	if d != 0 {
		next = (max(cur, 0) + d + len(opts)) % len(opts)
	} else {
		for k := 1; k <= len(opts); k++ {
			j := (cur + k + len(opts)) % len(opts)
			if strings.HasPrefix(strings.ToLower(opts[j]), strings.ToLower(string(r))) {
				next = j
				break
			}
		}
	}
	if next >= 0 {
		m.inputs[i].SetValue(opts[next])
	}
}

func (m Model) usesURI() bool { return strings.TrimSpace(m.inputs[URI].Value()) != "" }

// link returns the URI field's text, without surrounding spaces and
// quotes, when it is an http(s) URL, which can only be an enrollment link
// (whether it parses is build's business).
func (m Model) link() (string, bool) {
	// The same spaces and quotes as enroll.ParseLink drops.
	s := strings.Trim(strings.TrimSpace(m.inputs[URI].Value()), `"'<>`)
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || (!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https")) {
		return "", false
	}
	return s, true
}

// Update handles typing, moving between fields, Enter and Esc.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	km := m.KeyMap
	if k, ok := msg.(tea.KeyMsg); ok && !k.Paste {
		switch {
		case key.Matches(k, km.Back):
			return m, CancelCmd
		case k.Type == tea.KeyTab || k.Type == tea.KeyDown:
			return m, m.setFocus(m.focus + 1)
		case k.Type == tea.KeyShiftTab || k.Type == tea.KeyUp:
			return m, m.setFocus(m.focus - 1)
		case key.Matches(k, km.Submit):
			for i := range m.touched {
				m.touched[i] = true
			}
			key, bad := m.build()
			m.validate()
			if bad >= 0 {
				m.inputs[m.focus].Blur()
				m.focus = bad
				return m, m.inputs[bad].Focus()
			}
			if link, ok := m.link(); ok {
				return m, EnrollCmd(link)
			}
			return m, SubmitCmd(key)
		}
		if choices[m.focus] != nil {
			// A choice takes ←/→ (space goes on) or a first letter; no text.
			switch {
			case k.Type == tea.KeyLeft:
				m.choose(m.focus, -1, 0)
			case k.Type == tea.KeyRight || k.Type == tea.KeySpace:
				m.choose(m.focus, 1, 0)
			case k.Type == tea.KeyRunes && len(k.Runes) == 1:
				m.choose(m.focus, 0, k.Runes[0])
			}
			m.err = ""
			m.validate()
			return m, nil
		}
	}
	var cmd tea.Cmd
	m.inputs[m.focus], cmd = m.inputs[m.focus].Update(msg)
	m.err = ""
	m.validate()
	return m, cmd
}

// validate refreshes the message of every touched field (and of the
// focused one once it holds text).
func (m *Model) validate() {
	_, _ = m.build()
}

// build checks every field and returns the key, or the first field in
// error (-1 when none). A valid enrollment link returns no key and no
// error: the key comes from the server.
func (m *Model) build() (*otpauth.Key, int) {
	var errs [numFields]error
	var k *otpauth.Key
	if link, ok := m.link(); ok {
		if _, err := enroll.ParseLink(link); err != nil {
			// ParseLink never repeats the token.
			errs[URI] = errors.New("enrollment link: " + strings.TrimPrefix(err.Error(), enroll.ErrInvalidLink.Error()+": "))
		}
	} else if m.usesURI() {
		var err error
		k, err = otpauth.Parse(m.inputs[URI].Value())
		if err != nil {
			var fe *otpauth.FieldError
			if errors.As(err, &fe) {
				err = fmt.Errorf("%s: %s", fe.Field, fe.Reason)
			}
			errs[URI] = err
		} else if _, err := otp.CheckSecret(k.Secret); err != nil {
			errs[URI] = err // the one rule for short secrets, in its words
		}
	} else {
		// Fields hidden for the type picked keep their defaults.
		val := func(i int) string {
			if m.hidden(i) {
				return defaults[i]
			}
			return m.inputs[i].Value()
		}
		k = &otpauth.Key{Issuer: strings.TrimSpace(m.inputs[Issuer].Value()), Account: strings.TrimSpace(m.inputs[Name].Value())}
		if k.Account == "" {
			errs[Name] = errors.New("required")
		}
		if strings.Contains(k.Issuer, ":") {
			errs[Issuer] = errors.New("must not contain ':'")
		}
		s := m.inputs[Secret].Value()
		if strings.TrimSpace(s) == "" {
			errs[Secret] = errors.New("required")
		} else if sec, err := otp.DecodeSecret(s); err != nil {
			// DecodeSecret names the position, never the text.
			errs[Secret] = errors.New(strings.TrimPrefix(err.Error(), otp.ErrSecret.Error()+": "))
		} else if _, err := otp.CheckSecret(sec); err != nil {
			errs[Secret] = err // the one rule for short secrets, in its words
		} else {
			k.Secret = sec
		}
		var err error
		if k.Type, err = otp.ParseType(m.inputs[Type].Value()); err != nil {
			errs[Type] = errors.New("totp or hotp")
		}
		if k.Algorithm, err = otp.ParseAlgorithm(m.inputs[Algorithm].Value()); err != nil {
			errs[Algorithm] = errors.New("SHA1, SHA256 or SHA512")
		}
		if k.Type == otp.Steam {
			k.Digits = otp.SteamDigits // Steam codes always have 5 characters
		} else if d, err := strconv.Atoi(strings.TrimSpace(val(Digits))); err != nil || d < otp.MinDigits || d > otp.MaxDigits {
			errs[Digits] = errors.New("6, 7 or 8")
		} else {
			k.Digits = d
		}
		if p, err := strconv.Atoi(strings.TrimSpace(val(Period))); err != nil || p < otp.MinPeriod || p > otp.MaxPeriod {
			errs[Period] = fmt.Errorf("%d to %d seconds", otp.MinPeriod, otp.MaxPeriod)
		} else {
			k.Period = p
		}
		if c, err := strconv.ParseUint(strings.TrimSpace(val(Counter)), 10, 64); err != nil {
			errs[Counter] = errors.New("a whole number from 0")
		} else {
			k.Counter = c
		}
	}
	bad := -1
	for i := range errs {
		m.errs[i] = ""
		if errs[i] == nil {
			continue
		}
		if bad < 0 {
			bad = i
		}
		if m.touched[i] || (i == m.focus && m.inputs[i].Value() != "") {
			m.errs[i] = errs[i].Error()
		}
	}
	if bad >= 0 {
		return nil, bad
	}
	return k, -1
}

// ShortHelp implements help.KeyMap.
func (m Model) ShortHelp() []key.Binding {
	km := m.KeyMap
	// In order of need: the key line drops from the end, keeping esc.
	return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "add")), km.NextItem, km.PrevItem, km.Back}
}

// FullHelp implements help.KeyMap.
func (m Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }

// View draws the fields, each followed by its message when it has one.
func (m Model) View() string {
	st := m.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render("Add an account"))
	b.WriteByte('\n')
	b.WriteString(st.Subtle.Render(common.Wrap("Paste an otpauth:// URI or an enrollment link, or leave it empty and fill in the fields.", m.Width)))
	b.WriteByte('\n')
	if m.err != "" {
		b.WriteString(st.StatusErr.Render(common.Wrap(label.Terminal(m.err), m.Width)))
		b.WriteByte('\n')
	}
	uri := m.usesURI()
	k, bad := m.peek()
	for i := range m.inputs {
		if uri && i != URI || m.hidden(i) {
			continue
		}
		b.WriteByte('\n')
		mark := "  "
		if i == m.focus {
			mark = st.Cursor.Render("▸ ")
		}
		b.WriteString(mark + st.Label.Render(common.Fit(labels[i], 10)) + " " + m.fieldView(i))
		note, style := m.errs[i], st.FieldErr
		switch {
		case note != "":
			note = "✗ " + note
		case i == Secret && !uri && m.checkWarn(k) != "":
			note, style = "! "+m.checkWarn(k), st.Warning
		}
		if note != "" {
			for _, line := range strings.Split(common.Wrap(label.Terminal(note), max(1, m.Width-13)), "\n") {
				b.WriteString("\n" + strings.Repeat(" ", 13) + style.Render(line))
			}
		}
	}
	if uri {
		if bad < 0 {
			b.WriteString("\n\n" + st.Subtle.Render(common.Wrap(label.Line(m.describe(k)), m.Width)))
			if w := m.checkWarn(k); w != "" {
				b.WriteString("\n" + st.Warning.Render(common.Wrap("! "+w, m.Width)))
			}
		}
	}
	return b.String()
}

// fieldView draws field i: a text field, or a choice's options with the
// one picked in brackets ("[TOTP]  HOTP  Steam") and, when it has the
// keyboard, how to pick another.
func (m Model) fieldView(i int) string {
	if choices[i] == nil {
		return m.inputs[i].View()
	}
	st := m.Styles
	var b strings.Builder
	for j, o := range choices[i] {
		if j > 0 {
			b.WriteString("  ")
		}
		if strings.EqualFold(o, strings.TrimSpace(m.inputs[i].Value())) {
			style := st.Name
			if i == m.focus {
				style = st.Selected
			}
			b.WriteString(style.Render("[" + o + "]"))
		} else {
			b.WriteString(st.Subtle.Render(o))
		}
	}
	if i == m.focus && common.Width(b.String())+5 <= m.Width-13 {
		b.WriteString(st.Subtle.Render("  ←/→"))
	}
	return b.String()
}

// checkWarn is the warning of the one rule for short secrets
// (otp.CheckSecret) about k's secret, if any.
func (m Model) checkWarn(k *otpauth.Key) string {
	if k == nil || len(k.Secret) == 0 {
		return ""
	}
	w, _ := otp.CheckSecret(k.Secret)
	return w
}

// peek builds without touching the messages.
func (m Model) peek() (*otpauth.Key, int) { return m.build() }

// describe says what Enter will add: the key's label and settings, or for
// an enrollment link the server it comes from (never the token).
func (m Model) describe(k *otpauth.Key) string {
	if link, ok := m.link(); ok {
		l, err := enroll.ParseLink(link)
		if err != nil {
			return ""
		}
		return "→ enrollment link from " + l.Server + ": enter fetches the account and confirms its first code with the server"
	}
	label := k.Account
	if k.Issuer != "" {
		label = k.Issuer + ":" + k.Account
	}
	s := fmt.Sprintf("→ %s (%s, %s, %d digits", label, strings.ToUpper(k.Type.String()), k.Algorithm, k.Digits)
	if k.Type.TimeBased() {
		s += fmt.Sprintf(", %d s", k.Period)
	}
	return s + ")"
}
