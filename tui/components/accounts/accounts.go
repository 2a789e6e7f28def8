// Package accounts is the list of accounts with their live codes: moving,
// filtering (as the desktop app searches), mouse selection and a per-period countdown.
package accounts

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/tui/common"
)

// WarnSeconds is how close to the end of its period a code turns red and
// the next code appears beside it.
const WarnSeconds = 5

// WideWidth is the terminal width from which a row shows tags and the
// algorithm on one line; narrower terminals get a compact two-line row.
const WideWidth = 80

// Item is one account as the list shows it.
type Item struct {
	ID        string
	Issuer    string
	Name      string
	Tags      []string
	Type      otp.Type
	Algorithm otp.Algorithm
	Digits    int
	Period    int
	Counter   uint64 // HOTP: the next counter
	Gen       *otp.Generator
	HOTPCode  string // HOTP: the last code handed out this session

	step       uint64
	code, next string
	fresh      bool
}

// Label is "Issuer:Name", or the name alone.
func (it Item) Label() string {
	if it.Issuer == "" {
		return it.Name
	}
	return it.Issuer + ":" + it.Name
}

// The issuer, name and tags as the screen shows them: text from outside
// (otpauth URIs, imports, servers; labels older versions stored as they
// came) with every control and format character escaped, on one line.
func (it *Item) shownIssuer() string { return label.Line(it.Issuer) }
func (it *Item) shownName() string   { return label.Line(it.Name) }
func (it *Item) shownTags() string   { return label.Line(strings.Join(it.Tags, ",")) }

// Code is the code to copy: the current TOTP code, or the last HOTP code
// handed out ("" when there is none yet).
func (it Item) Code() string {
	if it.Type == otp.HOTP {
		return it.HOTPCode
	}
	return it.code
}

// refresh recomputes the codes when now is in a new time step; the next
// code becomes the current one without recomputing it.
func (it *Item) refresh(now time.Time) {
	if !it.Type.TimeBased() || it.Gen == nil {
		return
	}
	step := it.Gen.Step(now)
	switch {
	case it.fresh && step == it.step:
		return
	case it.fresh && step == it.step+1:
		it.code = it.next
	default:
		it.code = it.Gen.Code(step)
	}
	it.next = it.Gen.Code(step + 1)
	it.step = step
	it.fresh = true
}

// Model is the list component.
type Model struct {
	common.Common
	items     []Item
	visible   []int         // indexes into items, in display order
	marks     map[int][]int // item index -> byte offsets the filter matched in Issuer+" "+Name
	cursor    int           // index into visible
	offset    int           // first visible row shown
	filter    textinput.Model
	filtering bool // the filter has the keyboard
	now       time.Time
}

// New returns an empty list.
func New(c common.Common) Model {
	f := common.NewInput(c)
	f.Prompt = "/ "
	f.Placeholder = "type to filter, esc to clear"
	m := Model{Common: c, filter: f, now: c.Now()}
	return m
}

// SetSize implements common.Component.
func (m *Model) SetSize(width, height int) {
	m.Common.SetSize(width, height)
	m.filter.Width = max(1, width-3)
	m.clamp()
}

// SetItems replaces the items, keeping the selection on the same account
// when it is still there.
func (m *Model) SetItems(items []Item) {
	sel, ok := m.Selected()
	// A HOTP code handed out this session stays on screen while its
	// counter has not moved elsewhere.
	handed := map[string]Item{}
	for _, it := range m.items {
		if it.HOTPCode != "" {
			handed[it.ID] = it
		}
	}
	// Generators no item holds any more (a deleted account, a reload's
	// replaced ones) give their key material back at once.
	kept := map[*otp.Generator]bool{}
	for _, it := range items {
		kept[it.Gen] = true
	}
	for _, it := range m.items {
		if it.Gen != nil && !kept[it.Gen] {
			it.Gen.Wipe()
		}
	}
	m.items = items
	for i := range m.items {
		it := &m.items[i]
		if old, ok := handed[it.ID]; ok && it.HOTPCode == "" && old.Counter == it.Counter {
			it.HOTPCode = old.HOTPCode
		}
		it.refresh(m.now)
	}
	m.applyFilter()
	if ok {
		m.Select(sel.ID)
	}
	m.clamp()
}

// Items returns the items in their stored order.
func (m Model) Items() []Item { return m.items }

// SetItem replaces the item with the same ID, keeping its generator when
// it.Gen is nil.
func (m *Model) SetItem(it Item) {
	for i := range m.items {
		if m.items[i].ID == it.ID {
			if it.Gen == nil {
				it.Gen = m.items[i].Gen
			}
			if it.HOTPCode == "" {
				it.HOTPCode = m.items[i].HOTPCode
			}
			it.fresh = false
			it.refresh(m.now)
			m.items[i] = it
			m.applyFilter()
			m.Select(it.ID)
			return
		}
	}
}

// Tick moves the list's clock to now; codes change only when their time
// step does.
func (m *Model) Tick(now time.Time) {
	m.now = now
	for i := range m.items {
		m.items[i].refresh(now)
	}
}

// Selected returns the item under the cursor.
func (m Model) Selected() (Item, bool) {
	if m.cursor < 0 || m.cursor >= len(m.visible) {
		return Item{}, false
	}
	return m.items[m.visible[m.cursor]], true
}

// Select moves the cursor to the account id if it is shown.
func (m *Model) Select(id string) {
	for i, idx := range m.visible {
		if m.items[idx].ID == id {
			m.cursor = i
			m.clamp()
			return
		}
	}
}

// Filtering reports whether the filter has the keyboard.
func (m Model) Filtering() bool { return m.filtering }

// FilterValue is the current filter text.
func (m Model) FilterValue() string { return m.filter.Value() }

// Len is the number of accounts shown (after filtering).
func (m Model) Len() int { return len(m.visible) }

// StartFilter gives the keyboard to the filter.
func (m *Model) StartFilter() tea.Cmd {
	m.filtering = true
	return m.filter.Focus()
}

// StopFilter takes the keyboard back, keeping the filter applied.
func (m *Model) StopFilter() {
	m.filtering = false
	m.filter.Blur()
}

// ClearFilter removes the filter and shows every account again.
func (m *Model) ClearFilter() {
	sel, ok := m.Selected()
	m.StopFilter()
	m.filter.SetValue("")
	m.applyFilter()
	if ok {
		m.Select(sel.ID)
	}
}

func (m *Model) applyFilter() {
	m.visible = m.visible[:0]
	m.marks = nil
	term := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	if term == "" {
		for i := range m.items {
			m.visible = append(m.visible, i)
		}
		m.clamp()
		return
	}
	var exact, partial []int
	m.marks = map[int][]int{}
	for i := range m.items {
		rank, at := match(&m.items[i], term)
		switch rank {
		case label.ExactMatch:
			exact = append(exact, i)
		case label.PartMatch:
			partial = append(partial, i)
		default:
			continue
		}
		if at >= 0 {
			marks := make([]int, 0, len(term))
			for o := range term {
				marks = append(marks, at+o)
			}
			m.marks[i] = marks
		}
	}
	m.visible = append(append(m.visible, exact...), partial...)
	m.cursor = 0
	m.offset = 0
	m.clamp()
}

// match ranks it against the filter text q (lower case) as every face
// does (label.Match). at is the byte offset of q in issuer+" "+name as
// the row shows them (the marks), or -1 when only a tag matched or the
// case folding changed the length.
func match(it *Item, q string) (rank label.Rank, at int) {
	issuer, name := strings.ToLower(it.shownIssuer()), strings.ToLower(it.shownName())
	at = -1
	if shown := it.shownIssuer() + " " + it.shownName(); len(shown) == len(issuer)+1+len(name) {
		switch {
		case issuer == "":
			if i := strings.Index(name, q); i >= 0 {
				at = len(" ") + i
			}
		default:
			at = strings.Index(issuer+":"+name, q)
		}
	}
	tags := make([]string, len(it.Tags))
	for i, t := range it.Tags {
		tags[i] = label.Line(t)
	}
	rank = label.Match(it.shownIssuer(), it.shownName(), tags, q)
	if rank == label.NoMatch {
		return rank, -1
	}
	return rank, at
}

// rowHeight is the number of lines one account takes.
func (m Model) rowHeight() int {
	if m.Width >= WideWidth {
		return 1
	}
	return 2
}

// filterLines is the number of lines the filter bar takes above the rows.
func (m Model) filterLines() int {
	if m.filtering || m.filter.Value() != "" {
		return 1
	}
	return 0
}

// rows is how many accounts fit on the screen.
func (m Model) rows() int {
	return max(1, (m.Height-m.filterLines())/m.rowHeight())
}

func (m *Model) clamp() {
	m.cursor = min(m.cursor, len(m.visible)-1)
	m.cursor = max(m.cursor, 0)
	rows := m.rows()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
	m.offset = max(0, min(m.offset, len(m.visible)-rows))
}

// Update handles moving, filtering and mouse selection. Mouse rows are
// relative to the top of this component's view.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	km := m.KeyMap
	switch msg := msg.(type) {
	case tea.KeyMsg:
		if m.filtering {
			switch {
			case key.Matches(msg, km.Back):
				m.ClearFilter()
				return m, nil
			case msg.Type == tea.KeyUp || msg.Type == tea.KeyDown:
				m.move(map[bool]int{true: -1, false: 1}[msg.Type == tea.KeyUp])
				return m, nil
			}
			var cmd tea.Cmd
			before := m.filter.Value()
			m.filter, cmd = m.filter.Update(msg)
			if m.filter.Value() != before {
				m.applyFilter()
			}
			return m, cmd
		}
		switch {
		case key.Matches(msg, km.Up):
			m.move(-1)
		case key.Matches(msg, km.Down):
			m.move(1)
		case key.Matches(msg, km.Home):
			m.cursor = 0
			m.clamp()
		case key.Matches(msg, km.End):
			m.cursor = len(m.visible) - 1
			m.clamp()
		case key.Matches(msg, km.Back):
			if m.filter.Value() != "" {
				m.ClearFilter()
			}
		}
	case tea.MouseMsg:
		switch {
		case msg.Button == tea.MouseButtonWheelUp:
			m.move(-1)
		case msg.Button == tea.MouseButtonWheelDown:
			m.move(1)
		case msg.Action == tea.MouseActionPress && msg.Button == tea.MouseButtonLeft:
			y := msg.Y - m.filterLines()
			if y >= 0 {
				if row := m.offset + y/m.rowHeight(); row < len(m.visible) {
					m.cursor = row
					m.clamp()
				}
			}
		}
	}
	return m, nil
}

func (m *Model) move(d int) {
	m.cursor += d
	m.clamp()
}

// ShortHelp implements help.KeyMap.
func (m Model) ShortHelp() []key.Binding {
	km := m.KeyMap
	if m.filtering {
		return []key.Binding{
			key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "move")),
			key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "copy")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear")),
		}
	}
	// Short enough for 40 columns; ? lists every key.
	copyKey := key.NewBinding(key.WithKeys(km.Copy.Keys()...), key.WithHelp("c", "copy"))
	return []key.Binding{copyKey, km.Filter, km.Help, km.Quit}
}

// FullHelp implements help.KeyMap.
func (m Model) FullHelp() [][]key.Binding {
	km := m.KeyMap
	return [][]key.Binding{
		{km.Up, km.Down, km.Home, km.End, km.Filter, km.Back},
		{km.Copy, km.Next, km.QR, km.Add, km.Rename, km.Delete},
		{km.Requests, km.Help, km.Quit},
	}
}

// View draws the filter bar (when there is a filter) and the visible rows.
func (m Model) View() string {
	var b strings.Builder
	st := m.Styles
	if m.filterLines() > 0 {
		b.WriteString(m.filter.View())
		b.WriteByte('\n')
	}
	if len(m.items) == 0 {
		b.WriteString(st.Subtle.Render(common.Truncate("No accounts yet. Press a to add one.", m.Width)))
		return b.String()
	}
	if len(m.visible) == 0 {
		b.WriteString(st.Subtle.Render(common.Truncate(fmt.Sprintf("No account matches %q.", m.filter.Value()), m.Width)))
		return b.String()
	}
	lay := m.layout()
	end := min(len(m.visible), m.offset+m.rows())
	for i := m.offset; i < end; i++ {
		if i > m.offset {
			b.WriteByte('\n')
		}
		it := &m.items[m.visible[i]]
		mk := m.marksOf(m.visible[i])
		if lay.wide {
			m.wideRow(&b, lay, it, mk, i == m.cursor)
		} else {
			m.narrowRow(&b, lay, it, mk, i == m.cursor)
		}
	}
	return b.String()
}

// layout is the width of each column. It is measured on every account,
// not only those shown, so that filtering and scrolling never move a
// column.
type layout struct {
	wide                              bool
	issuer, name, tags, details, code int
	bar                               int
	next                              bool // a column for the next code (else it takes the bar's place)
}

// Caps on the issuer and name columns while the optional columns are
// given out; whatever is left afterwards goes to the names again.
const (
	issuerCap = 24
	nameCap   = 40
)

func (m Model) layout() layout {
	l := layout{wide: m.Width >= WideWidth, code: 7, bar: 10}
	var issuer, name, tags, det int
	for i := range m.items {
		it := &m.items[i]
		l.code = max(l.code, len(otp.Group(strings.Repeat("0", max(it.Digits, otp.MinDigits)))))
		issuer = max(issuer, common.Width(it.shownIssuer()))
		name = max(name, common.Width(it.shownName()))
		tags = max(tags, common.Width(it.shownTags()))
		det = max(det, len(details(it)))
	}
	if !l.wide {
		// "    123 456  ▰▰▰▰▰▰▰▰▰▰ 12s  → 789 012"
		l.bar = max(3, min(10, m.Width-(4+l.code+2+1+3+2+2+l.code)))
		return l
	}
	// In the last seconds "→ 1234 5678" may take the bar's place.
	l.bar = max(l.bar, l.code+2)
	// "▸ " issuer " " name " " [tags " "] [details " "] code "  " bar " 12s" ["  → " next]
	avail := m.Width - (2 + 1 + 1 + l.code + l.tail())
	// Names first: each up to its cap, the issuer giving way to the name.
	l.issuer = min(issuer, 16)
	l.name = max(8, min(min(name, nameCap), avail-l.issuer))
	l.issuer = max(0, min(min(issuer, issuerCap), avail-l.name))
	left := avail - l.issuer - l.name
	// Then, where there is room: the next code, the tags, the algorithm.
	if n := 4 + l.code; left >= n {
		l.next = true
		left -= n
	}
	if t := min(tags, 16); t > 0 && left >= t+1 {
		l.tags = t
		left -= t + 1
	}
	if d := det; left >= d+1 {
		l.details = d
		left -= d + 1
	}
	// What is left goes to the names, up to their full width.
	grow := min(left, max(0, name-l.name))
	l.name += grow
	left -= grow
	l.issuer += min(left, max(0, issuer-l.issuer))
	return l
}

func shift(offsets []int, by int) []int {
	out := make([]int, len(offsets))
	for i, o := range offsets {
		out[i] = o + by
	}
	return out
}

// details is the algorithm column: "SHA1 6d 30s" or "HOTP SHA1 6d".
func details(it *Item) string {
	if it.Type == otp.HOTP {
		return fmt.Sprintf("HOTP %s %dd", it.Algorithm, it.Digits)
	}
	if it.Type == otp.Steam {
		return fmt.Sprintf("Steam %s %ds", it.Algorithm, it.Period)
	}
	return fmt.Sprintf("%s %dd %ds", it.Algorithm, it.Digits, it.Period)
}

func (m Model) cursorCell(b *strings.Builder, selected bool) {
	if selected {
		b.WriteString(m.Styles.Cursor.Render("▸ "))
	} else {
		b.WriteString("  ")
	}
}

// rowMarks are the letters the filter matched in one account's issuer
// and name (byte offsets into each).
type rowMarks struct{ issuer, name []int }

// marksOf splits the filter's matches in Issuer+" "+Name (applyFilter's
// targets) into the issuer's and the name's.
func (m Model) marksOf(idx int) rowMarks {
	var rm rowMarks
	n := len(m.items[idx].shownIssuer())
	for _, o := range m.marks[idx] {
		switch {
		case o < n:
			rm.issuer = append(rm.issuer, o)
		case o > n:
			rm.name = append(rm.name, o-n-1)
		}
	}
	return rm
}

func (m Model) wideRow(b *strings.Builder, l layout, it *Item, mk rowMarks, selected bool) {
	st := m.Styles
	m.cursorCell(b, selected)
	issuer, nm := it.shownIssuer(), it.shownName()
	b.WriteString(common.Mark(common.Fit(issuer, l.issuer), issuer, mk.issuer, st.Issuer, st.Match.Inherit(st.Issuer)))
	b.WriteByte(' ')
	name := st.Name
	if selected {
		name = st.Selected
	}
	b.WriteString(common.Mark(common.Fit(nm, l.name), nm, mk.name, name, st.Match.Inherit(name)))
	b.WriteByte(' ')
	if l.tags > 0 {
		b.WriteString(st.Tags.Render(common.Fit(it.shownTags(), l.tags)))
		b.WriteByte(' ')
	}
	if l.details > 0 {
		b.WriteString(st.Details.Render(common.Fit(details(it), l.details)))
		b.WriteByte(' ')
	}
	m.codeCells(b, l, it)
}

func (m Model) narrowRow(b *strings.Builder, l layout, it *Item, mk rowMarks, selected bool) {
	st := m.Styles
	m.cursorCell(b, selected)
	issuer, text := it.shownIssuer(), it.shownName()
	marked := mk.name
	if issuer != "" {
		text = issuer + " · " + text
		marked = append(slices.Clone(mk.issuer), shift(mk.name, len(issuer)+len(" · "))...)
	}
	style := st.Name
	if selected {
		style = st.Selected
	}
	b.WriteString(common.Mark(common.Truncate(text, m.Width-2), text, marked, style, st.Match.Inherit(style)))
	b.WriteString("\n    ")
	m.codeCells(b, l, it)
}

// tail is the width of a wide row after the code: "  " bar " 12s" and,
// when there is a column for it, "  → " and the next code.
func (l layout) tail() int {
	t := 2 + l.bar + 4
	if l.next {
		t += 4 + l.code
	}
	return t
}

// codeCells draws "123 456  ▰▰▰▰▰▱▱▱▱▱ 12s" and, in the last WarnSeconds,
// "→ 789 012" after it; HOTP rows show their counter instead.
func (m Model) codeCells(b *strings.Builder, l layout, it *Item) {
	st := m.Styles
	if it.Gen == nil {
		b.WriteString(st.Subtle.Render("(secret unavailable)"))
		return
	}
	if it.Type == otp.HOTP {
		if it.HOTPCode == "" {
			b.WriteString(st.Subtle.Render(common.Fit(strings.Repeat("·", l.code), l.code)))
		} else {
			b.WriteString(st.Code.Render(common.Fit(otp.Group(it.HOTPCode), l.code)))
		}
		tail := fmt.Sprintf("  counter %d · n: next code", it.Counter)
		if l.wide && common.Width(tail) > l.tail() {
			tail = fmt.Sprintf("  counter %d", it.Counter)
		}
		b.WriteString(st.Subtle.Render(tail))
		return
	}
	left := otp.Remaining(m.now, it.Period)
	secs := int((left + time.Second - 1) / time.Second)
	warn := secs <= WarnSeconds
	code, bar := st.Code, st.BarFull
	if warn {
		code, bar = st.CodeWarn, st.BarWarn
	}
	b.WriteString(code.Render(common.Fit(otp.Group(it.code), l.code)))
	b.WriteString("  ")
	if warn && l.wide && !l.next {
		// No column for the next code: it takes the bar's place.
		b.WriteString(st.NextCode.Render(common.Fit("→ "+otp.Group(it.next), l.bar)))
		b.WriteString(st.Subtle.Render(fmt.Sprintf(" %2ds", secs)))
		return
	}
	full := (secs*l.bar + it.Period - 1) / it.Period
	full = min(max(full, 0), l.bar)
	b.WriteString(bar.Render(strings.Repeat("▰", full)))
	b.WriteString(st.BarEmpty.Render(strings.Repeat("▱", l.bar-full)))
	b.WriteString(st.Subtle.Render(fmt.Sprintf(" %2ds", secs)))
	if warn {
		b.WriteString(st.NextCode.Render("  → " + otp.Group(it.next)))
	}
}
