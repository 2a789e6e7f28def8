package tui

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/teatest"
	"github.com/muesli/termenv"

	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/tui/common"
	"latchkey/tui/components/accounts"
	"latchkey/tui/styles"
)

// -update rewrites the golden files under testdata/. teatest's golden
// package already defines the flag; it is declared here only without it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files under testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	// Anything drawn with lipgloss's default renderer carries no colour.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// RFC 6238 Appendix B seeds and RFC 4226's.
const (
	seedSHA1   = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"                     // "12345678901234567890"
	seedSHA256 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA" // 32 bytes
	rfcTime    = 1111111109                                             // a vector time, 1 s before a boundary
)

// harness drives a Model through Update, running the commands it returns
// (except ticks, which it records) and feeding their messages back.
type harness struct {
	t     *testing.T
	m     tea.Model
	store *fakeStore
	clip  *fakeClipboard
	clock *clock
	ticks []time.Duration
	seen  []tea.Msg
	opens int
}

func seed(s *fakeStore) {
	s.put(Account{Issuer: "GitHub", Name: "alice@example.com", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30}, seedSHA1)
	s.put(Account{Issuer: "AWS", Name: "root", Type: otp.TOTP, Algorithm: otp.SHA256, Digits: 8, Period: 30, Tags: []string{"work", "prod"}}, seedSHA256)
	s.put(Account{Issuer: "Bank", Name: "savings", Type: otp.HOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30}, seedSHA1)
	s.put(Account{Name: "personal@example.org", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 60}, "JBSWY3DPEHPK3PXP")
	s.put(Account{Issuer: "Example Corporation International", Name: "a.very.long.user.name@subsidiary.example.com", Type: otp.TOTP, Algorithm: otp.SHA512, Digits: 7, Period: 30}, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
}

type harnessOpts struct {
	width, height int
	at            time.Time
	open          OpenFunc
	passphrase    func() ([]byte, error)
	enroll        Enroller
	approvals     Approvals
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	if o.width == 0 {
		o.width, o.height = 40, 24
	}
	if o.at.IsZero() {
		o.at = time.Unix(rfcTime, 0)
	}
	h := &harness{t: t, store: newFakeStore(), clip: &fakeClipboard{}, clock: &clock{t: o.at}}
	seed(h.store)
	open := o.open
	if open == nil {
		open = func(context.Context, OpenOptions) (Store, error) { return h.store, nil }
	}
	counted := func(ctx context.Context, o OpenOptions) (Store, error) {
		h.opens++
		return open(ctx, o)
	}
	m := New(testCommon(h.clock, o.width, o.height), Options{
		Open: counted, Passphrase: o.passphrase, Clipboard: h.clip, Backend: "file", Enroll: o.enroll, Approvals: o.approvals,
		Schedule: func(d time.Duration) tea.Cmd { h.ticks = append(h.ticks, d); return nil },
	})
	h.m = m
	h.run(m.Init())
	h.send(tea.WindowSizeMsg{Width: o.width, Height: o.height})
	return h
}

// run executes cmd and feeds every message it yields back into Update.
func (h *harness) run(cmd tea.Cmd) {
	h.t.Helper()
	queue := h.exec(cmd)
	for len(queue) > 0 {
		msg := queue[0]
		queue = queue[1:]
		h.seen = append(h.seen, msg)
		var next tea.Cmd
		h.m, next = h.m.Update(msg)
		queue = append(queue, h.exec(next)...)
	}
}

func (h *harness) exec(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, h.exec(c)...)
		}
		return out
	default:
		return []tea.Msg{msg}
	}
}

func (h *harness) send(msgs ...tea.Msg) {
	h.t.Helper()
	for _, msg := range msgs {
		h.seen = append(h.seen, msg)
		var cmd tea.Cmd
		h.m, cmd = h.m.Update(msg)
		h.run(cmd)
	}
}

// keys sends key presses: names like "enter", "esc", "up", "ctrl+c", or
// plain text typed one rune at a time.
func (h *harness) keys(keys ...string) {
	h.t.Helper()
	for _, k := range keys {
		if msg, ok := named[k]; ok {
			h.send(msg)
			continue
		}
		for _, r := range k {
			h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		}
	}
}

var named = map[string]tea.KeyMsg{
	"enter": {Type: tea.KeyEnter}, "esc": {Type: tea.KeyEsc}, "up": {Type: tea.KeyUp},
	"down": {Type: tea.KeyDown}, "tab": {Type: tea.KeyTab}, "shift+tab": {Type: tea.KeyShiftTab},
	"ctrl+c": {Type: tea.KeyCtrlC}, "ctrl+u": {Type: tea.KeyCtrlU}, "backspace": {Type: tea.KeyBackspace},
	"left": {Type: tea.KeyLeft}, "right": {Type: tea.KeyRight},
}

func (h *harness) model() Model { return h.m.(Model) }
func (h *harness) view() string { return h.m.View() }

func (h *harness) selected() accounts.Item {
	h.t.Helper()
	it, ok := h.model().list.Selected()
	if !ok {
		h.t.Fatal("no selection")
	}
	return it
}

func (h *harness) quit() bool {
	for _, msg := range h.seen {
		if _, ok := msg.(tea.QuitMsg); ok {
			return true
		}
	}
	return false
}

// flat joins wrapped lines and collapses runs of spaces, so assertions do
// not depend on where a message wraps.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

func (h *harness) wantView(contains ...string) {
	h.t.Helper()
	v := h.view()
	for _, s := range contains {
		if !strings.Contains(v, s) && !strings.Contains(flat(v), flat(s)) {
			h.t.Fatalf("view lacks %q:\n%s", s, v)
		}
	}
}

func (h *harness) wantNotView(s string) {
	h.t.Helper()
	if v := h.view(); strings.Contains(v, s) || strings.Contains(flat(v), flat(s)) {
		h.t.Fatalf("view shows %q:\n%s", s, v)
	}
}

func TestLoadShowsRFCCodes(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	if !h.model().Ready() {
		t.Fatalf("not ready:\n%s", h.view())
	}
	// RFC 6238 Appendix B at 1111111109: SHA1 07081804, SHA256 68084774;
	// the next step (1111111111) gives SHA1 14050471 and SHA256 67062674.
	h.wantView("081 804", "→ 050 471")
	h.keys("j")
	h.send(tea.WindowSizeMsg{Width: 100, Height: 24})
	h.wantView("6808 4774", "→ 6706 2674")
}

func TestTickAtPeriodBoundary(t *testing.T) {
	h := newHarness(t, harnessOpts{at: time.Unix(rfcTime, 300e6)})
	if got := h.ticks[0]; got != 700*time.Millisecond {
		t.Fatalf("first tick after %v, want 700ms (the next whole second)", got)
	}
	h.wantView("081 804", " 1s")
	// The boundary: 1111111110 starts step 37037037.
	h.clock.t = time.Unix(rfcTime+1, 0)
	h.send(TickMsg{Time: h.clock.t})
	h.wantView("050 471", "30s")
	h.wantNotView("081 804")
	if got := h.ticks[len(h.ticks)-1]; got != time.Second {
		t.Fatalf("tick at a boundary scheduled the next after %v, want 1s", got)
	}
	// A late tick (timer slack) re-aligns on the next boundary.
	h.clock.t = time.Unix(rfcTime+2, 40e6)
	h.send(TickMsg{Time: h.clock.t})
	if got := h.ticks[len(h.ticks)-1]; got != 960*time.Millisecond {
		t.Fatalf("late tick scheduled the next after %v, want 960ms", got)
	}
}

func TestCountdownColour(t *testing.T) {
	st := testStyles(termenv.TrueColor)
	// The escape sequence that starts each bar.
	warnBar, _, _ := strings.Cut(st.BarWarn.Render("▰"), "▰")
	okBar, _, _ := strings.Cut(st.BarFull.Render("▰"), "▰")
	if warnBar == okBar || warnBar == "" {
		t.Fatal("warning and normal bars render alike")
	}
	for _, tt := range []struct {
		at   int64
		warn bool
	}{{rfcTime - 20, false}, {rfcTime - 5, false}, {rfcTime - 4, true}, {rfcTime, true}} {
		c := &clock{t: time.Unix(tt.at, 0)}
		cm := testCommon(c, 40, 10)
		cm.Styles = st
		l := accounts.New(cm)
		l.SetSize(40, 10)
		g, _ := otp.NewGenerator(mustSecret(t, seedSHA1), otp.Options{})
		l.SetItems([]accounts.Item{{ID: "a", Name: "x", Type: otp.TOTP, Digits: 6, Period: 30, Gen: g}})
		v := l.View()
		if got := strings.Contains(v, warnBar); got != tt.warn {
			t.Errorf("at %d s left: warning colour %v, want %v", 30-tt.at%30, got, tt.warn)
		}
		if got := strings.Contains(v, "→"); got != tt.warn {
			t.Errorf("at %d s left: next code shown %v, want %v", 30-tt.at%30, got, tt.warn)
		}
	}
}

func mustSecret(t *testing.T, b32 string) otp.Secret {
	t.Helper()
	s, err := otp.DecodeSecret(b32)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMove(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	steps := []struct {
		key  string
		want string
	}{
		{"j", "AWS"}, {"down", "Bank"}, {"k", "AWS"}, {"up", "GitHub"}, {"up", "GitHub"},
		{"G", "Example Corporation International"}, {"j", "Example Corporation International"}, {"g", "GitHub"},
	}
	for _, s := range steps {
		h.keys(s.key)
		if got := h.selected().Issuer; got != s.want {
			t.Fatalf("after %q selected %q, want %q", s.key, got, s.want)
		}
	}
}

func TestFilter(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("/", "aws")
	h.wantView("1 of 5 accounts", "/ aws")
	if got := h.selected().Issuer; got != "AWS" {
		t.Fatalf("selected %q", got)
	}
	// q and other command keys are text while filtering.
	h.keys("q")
	if h.quit() {
		t.Fatal("q quit while typing a filter")
	}
	h.wantView("No account matches")
	h.keys("backspace")
	// Part of a label, in any case: "hUB" matches GitHub only
	// (TestFilterSubstring has the ranking).
	h.keys("ctrl+u", "hUB")
	h.wantView("1 of 5 accounts")
	if got := h.selected().Issuer; got != "GitHub" {
		t.Fatalf("filter selected %q", got)
	}
	// Enter copies the selection and keeps the filter; esc then clears it.
	h.keys("enter")
	if len(h.clip.copied) != 1 || h.clip.copied[0] != "081804" {
		t.Fatalf("copied %q", h.clip.copied)
	}
	if h.model().list.Filtering() {
		t.Fatal("still typing in the filter after enter")
	}
	h.wantView("1 of 5 accounts")
	h.keys("esc")
	h.wantView("5 accounts")
	h.wantNotView("of 5")
	// Filter on the name too, then esc while typing clears at once.
	h.keys("/", "personal")
	if got := h.selected().Name; got != "personal@example.org" {
		t.Fatalf("selected %q", got)
	}
	h.keys("esc")
	if h.model().list.Len() != 5 || h.model().list.Filtering() {
		t.Fatal("esc did not clear the filter")
	}
}

func TestCopy(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("j", "c")
	if len(h.clip.copied) != 1 || h.clip.copied[0] != "68084774" {
		t.Fatalf("copied %q, want the RFC 6238 SHA256 code", h.clip.copied)
	}
	h.wantView("Copied the code of AWS:root")
	// The status goes away after StatusTTL.
	h.clock.t = h.clock.t.Add(StatusTTL)
	h.send(TickMsg{Time: h.clock.t})
	h.wantNotView("Copied")
	// A HOTP account has nothing to copy before n.
	h.keys("j", "enter")
	h.wantView("Press n to get a code")
	if len(h.clip.copied) != 1 {
		t.Fatalf("copied %q", h.clip.copied)
	}
	// A clipboard failure is reported, not fatal.
	h.clip.err = errors.New("no display")
	h.keys("g", "c")
	h.wantView("Could not copy: no display")
}

func TestDeleteConfirm(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("j", "d")
	h.wantView("Delete AWS:root?", "y yes")
	h.keys("n")
	if len(h.store.accounts) != 5 {
		t.Fatal("deleted after n")
	}
	h.keys("d", "esc")
	if len(h.store.accounts) != 5 {
		t.Fatal("deleted after esc")
	}
	h.keys("d", "x") // other keys do nothing
	h.wantView("Delete AWS:root?")
	h.keys("y")
	if len(h.store.accounts) != 4 {
		t.Fatal("not deleted after y")
	}
	h.wantView("Deleted AWS:root.", "4 accounts")
	h.wantNotView("AWS · root")
}

func TestAddFormValidation(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("a")
	h.wantView("Add an account", "URI")
	// Submitting an empty form names every missing field and focuses the
	// first one in error.
	h.keys("enter")
	f := h.model().form
	if f.Error(2) != "required" || f.Error(3) != "required" {
		t.Fatalf("name %q, secret %q", f.Error(2), f.Error(3))
	}
	if f.Focused() != 2 {
		t.Fatalf("focus on field %d, want name (2)", f.Focused())
	}
	h.keys("bob", "tab", "JB1SWY3D")
	if got := h.model().form.Error(3); !strings.Contains(got, "digit") {
		t.Fatalf("secret error %q", got)
	}
	// Type, Algorithm and Digits are choices: typing picks by first
	// letter, → the next option; nothing else can be typed there.
	h.keys("ctrl+u", "JBSWY3DPEHPK3PXP", "tab", "MD5", "tab", "right")
	h.wantView("[TOTP]", "[SHA256]")
	h.keys("tab", "9", "8", "tab", "ctrl+u", "0")
	h.wantView("1 to 3600 seconds")
	h.keys("ctrl+u", "30", "enter")
	if h.model().state != stateList {
		t.Fatalf("form not submitted:\n%s", h.view())
	}
	h.wantView("Added bob.", "6 accounts")
	if got := h.selected().Name; got != "bob" {
		t.Fatalf("selected %q after add", got)
	}
	last := h.store.accounts[len(h.store.accounts)-1]
	if last.Algorithm != otp.SHA256 || last.Digits != 8 || last.Period != 30 {
		t.Fatalf("stored %+v", last)
	}

	// A URI: its errors name the field; a duplicate asks before adding.
	h.keys("a", "otpauth://totp/GitHub:alice@example.com?secret=JBSWY3DPEHPK3PXP&digits=12", "tab")
	h.wantView("digits")
	for range len("12") {
		h.keys("backspace")
	}
	h.keys("6", "enter")
	h.wantView("GitHub:alice@example.com already exists.")
	h.keys("y")
	h.wantView("Added GitHub:alice@example.com.", "7 accounts")
	if got := h.store.calls[len(h.store.calls)-1]; got != "add GitHub:alice@example.com force=true" {
		t.Fatalf("last call %q", got)
	}
	// Esc leaves the form without adding.
	h.keys("a", "esc")
	if h.model().state != stateList || len(h.store.accounts) != 7 {
		t.Fatal("esc did not cancel")
	}
}

func TestPasteURIIsMasked(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("a")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("otpauth://totp/ACME:carol?secret=JBSWY3DPEHPK3PXP&issuer=ACME"), Paste: true})
	h.wantView("→ ACME:carol (TOTP, SHA1, 6 digits")
	h.wantNotView("JBSWY3DPEHPK3PXP")
	h.keys("enter")
	h.wantView("Added ACME:carol.")
}

func TestRename(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("e")
	h.wantView("Rename GitHub:alice@example.com", "> GitHub:alice@example.com")
	h.keys("ctrl+u", "enter")
	h.wantView("the name is empty")
	h.keys("GitLab:bob", "enter")
	h.wantView("Renamed to GitLab:bob.")
	if a := h.store.accounts[0]; a.Issuer != "GitLab" || a.Name != "bob" {
		t.Fatalf("stored %q %q", a.Issuer, a.Name)
	}
	// Esc cancels.
	h.keys("e", "ctrl+u", "x", "esc")
	if a := h.store.accounts[0]; a.Name != "bob" {
		t.Fatalf("renamed after esc: %q", a.Name)
	}
}

func TestNextHOTP(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("n")
	h.wantView("n is only for HOTP (counter) accounts.")
	h.keys("j", "j")
	h.wantView("counter 0")
	// RFC 4226 Appendix D: counter 0 gives 755224, counter 1 287082.
	for _, want := range []string{"755224", "287082"} {
		h.keys("n", "c")
		if got := h.clip.copied[len(h.clip.copied)-1]; got != want {
			t.Fatalf("copied %q, want %q", got, want)
		}
		h.wantView(otp.Group(want))
	}
	if h.store.accounts[2].Counter != 2 {
		t.Fatalf("stored counter %d", h.store.accounts[2].Counter)
	}
	h.wantView("counter 2")
}

func TestHelp(t *testing.T) {
	h := newHarness(t, harnessOpts{width: 40, height: 40})
	h.keys("?")
	for _, b := range h.model().list.FullHelp() {
		for _, k := range b {
			h.wantView(k.Help().Key, k.Help().Desc)
		}
	}
	h.keys("?")
	if h.model().state != stateList {
		t.Fatal("? did not close help")
	}
	h.keys("?", "esc")
	if h.model().state != stateList {
		t.Fatal("esc did not close help")
	}
}

func TestQuit(t *testing.T) {
	for _, tt := range []struct {
		name string
		keys []string
	}{{"q", []string{"q"}}, {"ctrl+c", []string{"ctrl+c"}}, {"ctrl+c in filter", []string{"/", "x", "ctrl+c"}},
		{"ctrl+c in form", []string{"a", "ctrl+c"}}, {"q in help", []string{"?", "q"}}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{})
			h.keys(tt.keys...)
			if !h.quit() {
				t.Fatal("did not quit")
			}
		})
	}
	h := newHarness(t, harnessOpts{})
	h.keys("a", "q")
	if h.quit() {
		t.Fatal("q in a form field quit")
	}
}

func TestResize(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.wantNotView("SHA256 8d 30s")
	// The algorithm and the tags show where there is room once the names
	// have theirs (TestWideNamesFirst).
	for _, w := range []int{100, 160} {
		h.send(tea.WindowSizeMsg{Width: w, Height: 30})
		if w == 160 {
			h.wantView("SHA256 8d 30s", "work,prod")
		}
		for _, line := range strings.Split(h.view(), "\n") {
			if lw := lipgloss.Width(line); lw > w {
				t.Fatalf("line of %d cells at width %d: %q", lw, w, line)
			}
		}
	}
	// A counter too long for a narrow row is cut at the edge.
	h.store.accounts[2].Counter = 1 << 62
	h.clock.t = h.clock.t.Add(ReloadEvery)
	h.send(TickMsg{Time: h.clock.t}, tea.WindowSizeMsg{Width: 40, Height: 24})
	h.wantView("counter 4611686018")
	for _, line := range strings.Split(h.view(), "\n") {
		if w := lipgloss.Width(line); w > 40 {
			t.Fatalf("line of %d cells at width 40: %q", w, line)
		}
	}
	// Tiny terminals do not crash and stay within bounds.
	for _, size := range [][2]int{{10, 5}, {1, 1}, {0, 0}, {39, 7}} {
		h.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		v := h.view()
		if n := strings.Count(v, "\n") + 1; size[1] > 0 && n > max(size[1], 5) {
			t.Fatalf("%v: %d lines", size, n)
		}
	}
}

func TestMouseSelects(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	// Narrow rows take two lines below a two-line header: Bank is at 6-7.
	h.send(tea.MouseMsg{X: 5, Y: 7, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if got := h.selected().Issuer; got != "Bank" {
		t.Fatalf("click selected %q", got)
	}
	h.send(tea.MouseMsg{X: 5, Y: 1, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if got := h.selected().Issuer; got != "Bank" {
		t.Fatalf("click on the header selected %q", got)
	}
	h.send(tea.WindowSizeMsg{Width: 100, Height: 24})
	h.send(tea.MouseMsg{X: 5, Y: 3, Action: tea.MouseActionPress, Button: tea.MouseButtonLeft})
	if got := h.selected().Issuer; got != "AWS" {
		t.Fatalf("wide click selected %q", got)
	}
	h.send(tea.MouseMsg{X: 5, Y: 3, Action: tea.MouseActionPress, Button: tea.MouseButtonWheelDown})
	if got := h.selected().Issuer; got != "Bank" {
		t.Fatalf("wheel selected %q", got)
	}
}

func TestLockedStore(t *testing.T) {
	var got []string
	open := func(h **harness) OpenFunc {
		return func(_ context.Context, o OpenOptions) (Store, error) {
			pass := o.Passphrase
			p, err := pass()
			if err != nil {
				return nil, fmt.Errorf("store: open vault: %w", err)
			}
			got = append(got, string(p))
			if string(p) != "correct horse" {
				return nil, fmt.Errorf("store: open vault: %w", store.ErrBadPassphrase)
			}
			return (*h).store, nil
		}
	}
	var h *harness
	h = newHarness(t, harnessOpts{open: open(&h)})
	h.wantView("Unlock the file store", "LATCHKEY_PASSPHRASE")
	h.keys("q") // text, not quit
	if h.quit() {
		t.Fatal("q quit the passphrase prompt")
	}
	h.keys("enter")
	h.wantView("Wrong passphrase")
	h.keys("ctrl+u", "", "enter")
	h.wantView("the passphrase is empty")
	h.keys("correct horse")
	h.wantView("> *************")
	h.wantNotView("correct horse")
	h.keys("enter")
	if !h.model().Ready() {
		t.Fatalf("not unlocked:\n%s", h.view())
	}
	if len(got) != 2 || got[0] != "q" || got[1] != "correct horse" {
		t.Fatalf("passphrases tried: %q", got)
	}
}

func TestPassphraseFromEnv(t *testing.T) {
	st := newFakeStore()
	seed(st)
	h := newHarness(t, harnessOpts{
		passphrase: func() ([]byte, error) { return []byte("pw"), nil },
		open: func(_ context.Context, o OpenOptions) (Store, error) {
			pass := o.Passphrase
			if p, err := pass(); err != nil || string(p) != "pw" {
				return nil, store.ErrBadPassphrase
			}
			return st, nil
		},
	})
	if !h.model().Ready() {
		t.Fatalf("not ready:\n%s", h.view())
	}
}

func TestStoreErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"keyring", fmt.Errorf("store: %w", store.ErrKeyringUnavailable), "--store file"},
		{"corrupt", errors.New("store: accounts.json: corrupt"), "The account store cannot be used: store: accounts.json: corrupt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{open: func(context.Context, OpenOptions) (Store, error) {
				if errors.Is(tt.err, store.ErrKeyringUnavailable) {
					// A keyring chosen before that fails now; when opening
					// finds none, the file store is offered instead
					// (TestNoKeyringOffersFileStore).
					return failingList{tt.err}, nil
				}
				return nil, tt.err
			}})
			h.wantView(tt.want, "Press q to quit")
			h.keys("j", "a", "d") // nothing to act on; no panic
			h.keys("q")
			if !h.quit() {
				t.Fatal("q did not quit")
			}
		})
	}
}

func TestQR(t *testing.T) {
	h := newHarness(t, harnessOpts{width: 100, height: 40})
	h.keys("v")
	h.wantView("Show the secret of GitHub:alice@example.com as a QR code?")
	if len(h.store.calls) != 0 {
		t.Fatalf("secret read before confirmation: %q", h.store.calls)
	}
	h.keys("n")
	h.wantNotView("█")
	h.keys("v", "y")
	h.wantView("Secret on screen", "█", "▀", "▄")
	h.keys("esc")
	h.wantNotView("█")
	// Too small a terminal says so instead of drawing a broken code.
	h.send(tea.WindowSizeMsg{Width: 30, Height: 20})
	h.keys("v", "y")
	h.wantView("needs a terminal of at least")
}

func TestGolden(t *testing.T) {
	type scene struct {
		name  string
		at    int64
		keys  []string
		width int
	}
	scenes := []scene{
		{"list", rfcTime - 20, nil, 0},
		{"list-last-seconds", rfcTime, nil, 0},
		{"filter", rfcTime - 20, []string{"/", "ex"}, 0},
		{"help", rfcTime - 20, []string{"?"}, 0},
		{"add-errors", rfcTime - 20, []string{"a", "enter", "x", "tab", "JB1"}, 0},
		{"delete", rfcTime - 20, []string{"j", "d"}, 0},
		{"hotp", rfcTime - 20, []string{"j", "j", "n"}, 0},
		{"add-link", rfcTime - 20, []string{"a", testLink}, 0},
		{"add-hotp", rfcTime - 20, []string{"a", "tab", "tab", "tab", "tab", "h"}, 0},
	}
	for _, sc := range scenes {
		for _, w := range []int{40, 100} {
			name := fmt.Sprintf("%s-%d", sc.name, w)
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, harnessOpts{width: w, height: 24, at: time.Unix(sc.at, 0)})
				h.keys(sc.keys...)
				golden(t, name, h.view())
			})
		}
	}
	t.Run("locked-40", func(t *testing.T) {
		h := newHarness(t, harnessOpts{width: 40, height: 12, open: func(_ context.Context, o OpenOptions) (Store, error) {
			p := o.Passphrase
			_, err := p()
			return nil, err
		}})
		golden(t, "locked-40", h.view())
	})
	t.Run("keyring-40", func(t *testing.T) {
		h := newHarness(t, harnessOpts{width: 40, height: 12, open: func(context.Context, OpenOptions) (Store, error) {
			return nil, store.ErrKeyringUnavailable
		}})
		golden(t, "keyring-40", h.view())
	})
	// A short terminal: the help closes up, and what is cut says so.
	for _, sc := range []struct {
		name   string
		height int
	}{{"help-40x20", 20}, {"help-40x12", 12}} {
		t.Run(sc.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{width: 40, height: sc.height, at: time.Unix(rfcTime-20, 0)})
			h.keys("?")
			golden(t, sc.name, h.view())
		})
	}
	t.Run("qr-100", func(t *testing.T) {
		h := newHarness(t, harnessOpts{width: 100, height: 40})
		h.keys("v", "y")
		golden(t, "qr-100", h.view())
	})
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// lazyStore asks for its passphrase on the first read, like the file
// store, which reads the vault only when needed.
type lazyStore struct {
	*fakeStore
	pass func() ([]byte, error)
	want string
}

func (s lazyStore) List(ctx context.Context) ([]Account, error) {
	p, err := s.pass()
	if err != nil {
		return nil, fmt.Errorf("store: passphrase: %w", err)
	}
	if string(p) != s.want {
		return nil, fmt.Errorf("store: open vault: %w", store.ErrBadPassphrase)
	}
	return s.fakeStore.List(ctx)
}

func TestLockedOnFirstRead(t *testing.T) {
	st := newFakeStore()
	seed(st)
	h := newHarness(t, harnessOpts{open: func(_ context.Context, o OpenOptions) (Store, error) {
		pass := o.Passphrase
		return lazyStore{fakeStore: st, pass: pass, want: "s3cret"}, nil
	}})
	h.wantView("Unlock the file store")
	h.keys("nope", "enter")
	h.wantView("Wrong passphrase")
	h.keys("ctrl+u", "s3cret", "enter")
	if !h.model().Ready() || h.opens != 3 {
		t.Fatalf("ready %v after %d opens:\n%s", h.model().Ready(), h.opens, h.view())
	}
	h.wantView("081 804")
}

func TestReloadSeesOtherProcesses(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("j", "j", "n") // hand out a HOTP code; it must survive reloads
	h.store.put(Account{Issuer: "Desktop", Name: "added elsewhere", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30}, seedSHA1)
	h.clock.t = h.clock.t.Add(ReloadEvery - time.Second)
	h.send(TickMsg{Time: h.clock.t})
	h.wantNotView("Desktop")
	h.clock.t = h.clock.t.Add(time.Second)
	h.send(TickMsg{Time: h.clock.t})
	h.wantView("6 accounts", "Desktop · added elsewhere", "755 224")
	if got := h.selected().Issuer; got != "Bank" {
		t.Fatalf("selection moved to %q on reload", got)
	}
}

func TestAdaptiveColours(t *testing.T) {
	r := func(dark bool) string {
		rd := lipgloss.NewRenderer(io.Discard)
		rd.SetColorProfile(termenv.TrueColor)
		rd.SetHasDarkBackground(dark)
		return styles.DefaultStyles(rd).Code.Render("123")
	}
	if r(true) == r(false) {
		t.Fatal("codes look the same on light and dark backgrounds")
	}
	if got := testStyles(termenv.Ascii).CodeWarn.Render("123"); got != "123" {
		t.Fatalf("the Ascii profile (NO_COLOR) still styles: %q", got)
	}
}

// TestProgramTicksAtBoundary runs the model in a real Bubble Tea program
// (teatest) with real timers: ticks land on whole seconds, and the codes
// change at the period boundary three seconds after start, not before.
func TestProgramTicksAtBoundary(t *testing.T) {
	s := newFakeStore()
	seed(s)
	start := time.Now()
	// Two seconds before the boundary at rfcTime+1, leaving time to draw
	// the first frame even on a loaded machine.
	now := func() time.Time { return time.Unix(rfcTime-2, 0).Add(time.Since(start)) }
	c := common.New(context.Background(), testStyles(termenv.Ascii), nil, now)
	m := New(c, Options{Open: func(context.Context, OpenOptions) (Store, error) { return s, nil }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(40, 24))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("081 804")) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	// The new current code: followed by a full bar, not the "→ 050 471"
	// shown as the next code in the last seconds.
	current := regexp.MustCompile(`050 471 +▰▰▰▰▰▰▰▰`)
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return current.Match(b) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	if d := time.Since(start); d < 2900*time.Millisecond {
		t.Fatalf("codes changed after %v, before the boundary at 3s", d)
	}
	tm.Type("q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// TestFilterMarks: the letters a filter matched are drawn in the Match
// style, in the issuer and in the name, on wide and on compact rows; the
// unfiltered list has no such marks.
func TestFilterMarks(t *testing.T) {
	st := testStyles(termenv.TrueColor)
	c := &clock{t: time.Unix(rfcTime-20, 0)}
	g, _ := otp.NewGenerator(mustSecret(t, seedSHA1), otp.Options{})
	for _, width := range []int{100, 40} {
		cm := testCommon(c, width, 10)
		cm.Styles = st
		l := accounts.New(cm)
		l.SetSize(width, 10)
		l.SetItems([]accounts.Item{
			{ID: "a", Issuer: "GitHub", Name: "alice", Type: otp.TOTP, Digits: 6, Period: 30, Gen: g},
			{ID: "b", Issuer: "AWS", Name: "ops", Type: otp.TOTP, Digits: 6, Period: 30, Gen: g},
		})
		issuerMark := st.Match.Inherit(st.Issuer)
		nameMark := st.Match.Inherit(st.Selected)
		if width < accounts.WideWidth {
			issuerMark = st.Match.Inherit(st.Selected) // one label, one style
		}
		wants := []string{issuerMark.Render("Hub"), nameMark.Render("a")}
		for _, w := range wants {
			if strings.Contains(l.View(), w) {
				t.Fatalf("width %d: marked %q before any filter", width, w)
			}
		}
		l.StartFilter()
		l, _ = l.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("hub:a")})
		if l.Len() != 1 {
			t.Fatalf("width %d: %d accounts match hub:a", width, l.Len())
		}
		v := l.View()
		for _, w := range wants {
			if !strings.Contains(v, w) {
				t.Errorf("width %d: %q not marked in\n%q", width, w, v)
			}
		}
	}
}
