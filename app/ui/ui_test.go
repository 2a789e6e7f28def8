package ui

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The RFC 6238 Appendix B SHA1 seed; at Unix time 1111111109 its 8-digit
// code is 07081804, so the 6-digit code of that step is 081804.
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

// t0 is the first second of the step holding 1111111109.
var t0 = time.Unix(1111111080, 0)

type harness struct {
	t     *testing.T
	app   *App
	w     fyne.Window
	store *fakeStore
	clock *fakeClock
	opens []Backend
}

func seedThree(s *fakeStore) {
	s.seed(Account{Issuer: "GitHub", Name: "alice@example.com", Tags: []string{"work"}}, rfcSecret)
	s.seed(Account{Issuer: "Example", Name: "bob", Algorithm: otp.SHA256, Digits: 8}, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	s.seed(Account{Issuer: "", Name: "vpn", Type: otp.HOTP}, "JBSWY3DPEHPK3PXP")
}

// newHarness starts the app on the test driver with a fake store seeded by
// seed and a fake clock at t0.
func newHarness(t *testing.T, b Backend, seed func(*fakeStore)) *harness {
	t.Helper()
	test.NewTempApp(t)
	h := &harness{t: t, store: newFakeStore(b), clock: &fakeClock{now: t0}}
	if seed != nil {
		seed(h.store)
	}
	h.w = test.NewTempWindow(t, nil)
	h.w.Resize(fyne.NewSize(420, 400))
	h.app = New(h.w, Deps{
		Clock: h.clock,
		Open: func(_ context.Context, b Backend, _ Prompts) (Store, error) {
			h.opens = append(h.opens, b)
			return h.store, nil
		},
	})
	h.app.async = func(f func()) { f() }
	h.app.Start(context.Background())
	t.Cleanup(h.app.Stop)
	return h
}

func (h *harness) rows() string { return strings.Join(listed(h.w), "\n") }

// listed returns the account rows window w shows, top to bottom, each as
// "title<TAB>subtitle<TAB>code": the texts its rows draw, read from the
// widget tree of the test driver (nothing in the product reports them).
func listed(w fyne.Window) []string {
	type row struct {
		y    float32
		text string
	}
	var rows []row
	d := fyne.CurrentApp().Driver()
	for _, o := range test.LaidOutObjects(w.Content()) {
		r, ok := o.(*codeRow)
		if !ok || !r.Visible() {
			continue
		}
		rr := test.WidgetRenderer(r).(*codeRowRenderer)
		rows = append(rows, row{d.AbsolutePositionForObject(r).Y, rr.title.Text + "\t" + rr.subtitle.Text + "\t" + rr.code.Text})
	}
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(a.y, b.y) })
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.text
	}
	return out
}

// texts returns every visible text in o (labels, canvas texts, entries,
// buttons), for finding what a screen or dialog shows.
func texts(o fyne.CanvasObject) string {
	var b strings.Builder
	for _, x := range test.LaidOutObjects(o) {
		if !x.Visible() {
			continue
		}
		switch v := x.(type) {
		case *widget.Label:
			b.WriteString(v.Text + "\n")
		case *widget.Button:
			b.WriteString("[" + v.Text + "]\n")
		}
	}
	return b.String()
}

func overlay(t *testing.T, w fyne.Window) fyne.CanvasObject {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog is shown")
	}
	return top
}

func button(t *testing.T, o fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	for _, x := range test.LaidOutObjects(o) {
		if b, ok := x.(*widget.Button); ok && b.Text == text && b.Visible() {
			return b
		}
	}
	t.Fatalf("no button %q in:\n%s", text, texts(o))
	return nil
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func goldenImage(t *testing.T, name string, c fyne.Canvas) {
	t.Helper()
	img := c.Capture()
	if *update {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	test.AssertImageMatches(t, name, img)
}

func TestListRendering(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	golden(t, "rows.golden", h.rows()+"\n")
	goldenImage(t, "accounts.png", h.w.Canvas())
}

func TestEmptyList(t *testing.T) {
	h := newHarness(t, Keyring, nil)
	if got := texts(h.w.Content()); !strings.Contains(got, "No accounts yet") {
		t.Errorf("empty list shows:\n%s", got)
	}
}

func TestCodesFollowTheClock(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	code := func() rowView { return h.app.view(h.app.shown[0], h.clock.Now()) }
	if v := code(); v.Code != "081 804" || v.Warn || v.Next != "" || v.Frac != 1 {
		t.Fatalf("at the start of the step: %+v", v)
	}
	h.clock.advance(24*time.Second + 500*time.Millisecond)
	if v := code(); v.Code != "081 804" || v.Warn {
		t.Fatalf("5.5 s before the boundary: %+v", v)
	}
	h.clock.advance(time.Second)
	v := code()
	if v.Code != "081 804" || !v.Warn || v.Next == "" {
		t.Fatalf("4.5 s before the boundary: %+v", v)
	}
	next := strings.TrimPrefix(v.Next, "next ")
	goldenImage(t, "accounts_last_seconds.png", h.w.Canvas()) // red countdown, next codes
	h.clock.advance(4*time.Second + 500*time.Millisecond)     // exactly the boundary
	if v := code(); v.Code != next || v.Warn {
		t.Fatalf("at the boundary: %+v, want code %q", v, next)
	}
	// The drawn row followed the ticks.
	if first := listed(h.w)[0]; !strings.HasSuffix(first, "\t"+next) {
		t.Errorf("the first row after the boundary shows %q, want code %q", first, next)
	}
}

func TestSearch(t *testing.T) {
	tests := []struct {
		typed string
		want  []string // titles in order
	}{
		{"git", []string{"GitHub"}},
		{"WORK", []string{"GitHub"}},               // tag
		{"example", []string{"Example", "GitHub"}}, // exact issuer first, then alice@example.com
		{"vpn", []string{"vpn"}},
		{"nothing", nil},
	}
	for _, tc := range tests {
		t.Run(tc.typed, func(t *testing.T) {
			h := newHarness(t, Keyring, seedThree)
			// Typing anywhere starts a search.
			test.TypeOnCanvas(h.w.Canvas(), tc.typed)
			if h.w.Canvas().Focused() != h.app.search {
				t.Fatal("typing did not focus the search field")
			}
			var got []string
			for _, a := range h.app.shown {
				got = append(got, h.app.view(a, h.clock.Now()).Title)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("search %q shows %q, want %q", tc.typed, got, tc.want)
			}
			if tc.want == nil && !strings.Contains(texts(h.w.Content()), "No account matches") {
				t.Error("no hint for a search without match")
			}
			h.app.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
			if len(h.app.shown) != 3 {
				t.Errorf("Escape left %d rows", len(h.app.shown))
			}
		})
	}
}

func TestKeyboard(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	c := h.w.Canvas()
	c.Unfocus()
	c.(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault})
	if c.Focused() != h.app.search {
		t.Fatal("Ctrl+F did not focus the search field")
	}
	// Arrows move the selection from the search field; Enter copies.
	h.app.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	h.app.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	h.app.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyUp})
	if h.app.sel != 0 {
		t.Fatalf("selection after down, down, up = %d, want 0", h.app.sel)
	}
	h.app.search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if got := fyne.CurrentApp().Clipboard().Content(); got != "081804" {
		t.Errorf("Enter copied %q, want 081804", got)
	}
	// Without focus the window handles the same keys.
	c.Unfocus()
	c.OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDown})
	if h.app.sel != 1 {
		t.Errorf("Down on the window: selection %d, want 1", h.app.sel)
	}
	// Ctrl+Down moves the selected account down the list.
	c.(interface{ TypedShortcut(fyne.Shortcut) }).TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyDown, Modifier: fyne.KeyModifierShortcutDefault})
	if got := h.rows(); !strings.HasPrefix(got, "GitHub") || !strings.Contains(strings.Split(got, "\n")[2], "Example") {
		t.Errorf("after moving Example down:\n%s", got)
	}
}

// Another process (the TUI) changes the store: the list follows within a
// poll interval.
func TestSeesOtherProcessChanges(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.store.seed(Account{Issuer: "Added", Name: "elsewhere"}, rfcSecret)
	h.clock.advance(pollEvery)
	if got := h.rows(); !strings.Contains(got, "Added\telsewhere\t081 804") {
		t.Errorf("the other process's account is not listed after %s:\n%s", pollEvery, got)
	}
	if err := h.store.Delete(context.Background(), h.store.accts[0].ID); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(pollEvery)
	if got := h.rows(); strings.Contains(got, "GitHub") {
		t.Errorf("the account deleted elsewhere is still listed:\n%s", got)
	}
}
