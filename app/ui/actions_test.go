package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/otp"
)

func TestCopyClearsClipboard(t *testing.T) {
	tests := []struct {
		name      string
		pref      int    // clipboard clear seconds; -1 leaves the default (30)
		overwrite string // what the user copies meanwhile
		after     time.Duration
		want      string
	}{
		{"default clears after 30 s", -1, "", 30 * time.Second, ""},
		{"not before", -1, "", 29 * time.Second, "081804"},
		{"changed clipboard is left alone", -1, "my own text", 31 * time.Second, "my own text"},
		{"ten seconds", 10, "", 10 * time.Second, ""},
		{"never", 0, "", time.Hour, "081804"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Keyring, seedThree)
			if tc.pref >= 0 {
				fyne.CurrentApp().Preferences().SetInt(prefClipboard, tc.pref)
			}
			row := h.row(0)
			test.Tap(row)
			cb := fyne.CurrentApp().Clipboard()
			if got := cb.Content(); got != "081804" {
				t.Fatalf("tap copied %q, want 081804", got)
			}
			if !h.app.status.Visible() || !strings.Contains(h.app.status.Text, "Copied the code of GitHub:alice@example.com") {
				t.Errorf("no confirmation, status %q", h.app.status.Text)
			}
			if tc.overwrite != "" {
				cb.SetContent(tc.overwrite)
			}
			h.clock.advance(tc.after)
			if got := cb.Content(); got != tc.want {
				t.Errorf("clipboard after %s = %q, want %q", tc.after, got, tc.want)
			}
		})
	}
}

func TestStopClearsClipboard(t *testing.T) {
	for _, changed := range []bool{false, true} {
		h := newHarness(t, Keyring, seedThree)
		test.Tap(h.row(0))
		cb := fyne.CurrentApp().Clipboard()
		want := ""
		if changed {
			want = "mine"
			cb.SetContent(want)
		}
		h.app.Stop()
		if got := cb.Content(); got != want {
			t.Errorf("changed %v: clipboard after Stop %q, want %q", changed, got, want)
		}
		if !h.store.closed {
			t.Error("Stop left the store open")
		}
		h.app.Stop() // idempotent
	}
}

// row returns the list's row widget showing account i.
func (h *harness) row(i int) *codeRow {
	h.t.Helper()
	want := h.app.view(h.app.shown[i], h.clock.Now())
	for _, o := range test.LaidOutObjects(h.app.list) {
		if r, ok := o.(*codeRow); ok && r.view.Title == want.Title && r.view.Subtitle == want.Subtitle {
			return r
		}
	}
	h.t.Fatalf("row %d (%s) is not on screen", i, want.Title)
	return nil
}

func TestHOTPNextCode(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	test.Tap(h.row(2))
	// RFC 4226 does not cover this seed; compute the reference directly.
	sec, _ := otp.DecodeSecret("JBSWY3DPEHPK3PXP")
	want0, _ := otp.HOTPCode(sec, 0, otp.Options{})
	want1, _ := otp.HOTPCode(sec, 1, otp.Options{})
	if got := fyne.CurrentApp().Clipboard().Content(); got != want0 {
		t.Fatalf("first HOTP code %q, want %q", got, want0)
	}
	if a, _ := h.store.get(h.app.shown[2].ID); a.Counter != 1 {
		t.Errorf("counter after one code = %d, want 1", a.Counter)
	}
	if v := h.app.view(h.app.shown[2], h.clock.Now()); v.Code != otp.Group(want0) {
		t.Errorf("row shows %q, want %q", v.Code, otp.Group(want0))
	}
	h.app.actionsMenu(2).Items[0].Action()
	if got := fyne.CurrentApp().Clipboard().Content(); got != want1 {
		t.Errorf("Next code copied %q, want %q", got, want1)
	}
}

func TestDeleteConfirm(t *testing.T) {
	for _, confirm := range []bool{false, true} {
		name := map[bool]string{false: "cancel keeps", true: "confirm deletes"}[confirm]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, Keyring, seedThree)
			h.w.Canvas().Unfocus()
			h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDown}) // select GitHub
			h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDelete})
			d := overlay(t, h.w)
			if got := texts(d); !strings.Contains(got, "Delete GitHub:alice@example.com?") {
				t.Fatalf("confirmation says:\n%s", got)
			}
			if len(h.store.accts) != 3 {
				t.Fatal("deleted before the confirmation")
			}
			label := map[bool]string{false: "Keep", true: "Delete"}[confirm]
			test.Tap(button(t, d, label))
			want := map[bool]int{false: 3, true: 2}[confirm]
			if len(h.store.accts) != want || len(h.app.shown) != want {
				t.Errorf("after %s: store %d, list %d, want %d", label, len(h.store.accts), len(h.app.shown), want)
			}
			if confirm && strings.Contains(h.rows(), "GitHub") {
				t.Errorf("GitHub still listed:\n%s", h.rows())
			}
		})
	}
}

func TestRenameTagsAndMove(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.app.rename(h.app.shown[1])
	d := overlay(t, h.w)
	entries := entriesIn(d)
	entries[0].SetText("Example Corp")
	test.Tap(button(t, d, "Rename"))
	h.app.editTags(h.app.shown[1])
	d = overlay(t, h.w)
	entriesIn(d)[0].SetText("#vpn, Work  vpn")
	test.Tap(button(t, d, "Save"))
	h.app.move(1, -1)
	golden(t, "rows_edited.golden", h.rows()+"\n")
	if h.app.sel != 0 {
		t.Errorf("selection did not follow the moved account: %d", h.app.sel)
	}
}

func entriesIn(o fyne.CanvasObject) []*widget.Entry {
	var out []*widget.Entry
	for _, x := range test.LaidOutObjects(o) {
		if e, ok := x.(*widget.Entry); ok {
			out = append(out, e)
		}
	}
	return out
}

func TestShowQRAsksFirst(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.app.confirmQR(h.app.shown[0])
	d := overlay(t, h.w)
	if got := texts(d); !strings.Contains(got, "holds the secret") {
		t.Fatalf("no warning before the QR:\n%s", got)
	}
	test.Tap(button(t, d, "Show QR"))
	img, err := qrImage(context.Background(), h.store, h.app.shown[0])
	if err != nil || img.Bounds().Dx() < 256 {
		t.Fatalf("qrImage: %v", err)
	}
	if got := texts(overlay(t, h.w)); !strings.Contains(got, "Scan with your phone") {
		t.Errorf("QR dialog shows:\n%s", got)
	}
}

func TestParseTags(t *testing.T) {
	tests := map[string][]string{
		"":                  nil,
		"work":              {"work"},
		"#vpn, Work  vpn":   {"vpn", "Work"},
		" , ,# ,":           nil,
		"a,b;c":             {"a", "b;c"},
		"Mail MAIL mail #x": {"Mail", "x"},
	}
	for in, want := range tests {
		if got := parseTags(in); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("parseTags(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseTags(f *testing.F) {
	for _, s := range []string{"", "work", "#vpn, Work  vpn", "##", "a,,b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tags := parseTags(s)
		for i, tag := range tags {
			if tag == "" || strings.HasPrefix(tag, "#") || strings.ContainsAny(tag, ", ") {
				t.Fatalf("bad tag %q from %q", tag, s)
			}
			if containsFold(tags[:i], tag) {
				t.Fatalf("repeated tag %q from %q", tag, s)
			}
		}
		if again := parseTags(strings.Join(tags, ", ")); strings.Join(again, "|") != strings.Join(tags, "|") {
			t.Fatalf("not stable: %q -> %q", tags, again)
		}
	})
}

func TestListErrorIsShown(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	h.store.failList = errors.New("store: read accounts.json: permission denied")
	h.app.reload()
	if got := texts(overlay(t, h.w)); !strings.Contains(got, "Could not list the accounts: store: read accounts.json: permission denied") {
		t.Errorf("error dialog shows:\n%s", got)
	}
}

func TestDragToReorder(t *testing.T) {
	tests := []struct {
		name  string
		row   int
		dy    float32 // in row heights
		want  string  // titles after the drop
		query string
	}{
		{"down two", 0, 2.2, "Example,vpn,GitHub", ""},
		{"up one", 2, -0.8, "GitHub,vpn,Example", ""},
		{"less than half a row stays", 1, 0.3, "GitHub,Example,vpn", ""},
		{"past the end clamps", 0, 9, "Example,vpn,GitHub", ""},
		{"not while searching", 0, 1, "GitHub", "git"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Keyring, seedThree)
			if tc.query != "" {
				h.app.search.SetText(tc.query)
			}
			r := h.row(tc.row)
			home := r.Position()
			step := r.Size().Height + theme.SeparatorThicknessSize() + theme.Padding()
			for range 4 { // a drag arrives in pieces
				r.Dragged(&fyne.DragEvent{Dragged: fyne.Delta{DY: tc.dy * step / 4}})
			}
			if r.Position() == home && tc.dy > 0.5 {
				t.Error("the row does not follow the pointer")
			}
			r.DragEnd()
			if r.Position() != home && tc.query != "" {
				t.Error("the row was not put back")
			}
			var got []string
			for _, a := range h.app.shown {
				got = append(got, h.app.view(a, h.clock.Now()).Title)
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("order %q, want %q", got, tc.want)
			}
			if tc.query != "" && !strings.Contains(h.app.status.Text, "Clear the search") {
				t.Errorf("status %q", h.app.status.Text)
			}
		})
	}
}
