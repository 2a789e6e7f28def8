package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"

	"latchkey/core/store"
)

// The window sizes every screen must fit (issue 14): the size the app
// opens at, and the smallest one it allows.
var (
	defaultSize = fyne.NewSize(420, 640)
	minimumSize = minWindow
)

// seedLong adds the three accounts and one whose issuer and name are far
// longer than a row.
func seedLong(s *fakeStore) {
	seedThree(s)
	s.seed(Account{Issuer: "International Business Machines Corporation Cloud Identity", Name: "a.very.long.address@subdomain.example.com"}, rfcSecret)
}

// relayout lays the window out again, as the GL driver does on the next
// frame after a change.
func relayout(w fyne.Window) {
	s := w.Canvas().Size()
	w.Resize(s.AddWidthHeight(1, 1))
	w.Resize(s)
}

// fits fails when a visible object of o reaches past the window (it is
// clipped), or a text is wider than the space it was given (it is drawn
// over its neighbours).
func fits(t *testing.T, what string, w fyne.Window, o fyne.CanvasObject) {
	t.Helper()
	size := w.Canvas().Size()
	var walk func(o fyne.CanvasObject, parent fyne.Position, scrolled bool) bool
	walk = func(o fyne.CanvasObject, parent fyne.Position, scrolled bool) bool {
		if o == nil || !o.Visible() {
			return true
		}
		p := parent.Add(o.Position())
		box := o.Size()
		if txt, ok := o.(*canvas.Text); ok && txt.Text != "" {
			m := txt.MinSize()
			if box.Width == 0 { // drawn at its natural size
				box.Width = m.Width
			}
			if m.Width > box.Width+1 {
				t.Errorf("%s at %v: text %q is %.0f wide in %.0f", what, size, txt.Text, m.Width, box.Width)
				return false
			}
		}
		end := p.Add(box)
		if box.Width > 0 && box.Height > 0 && (p.X < -0.5 || end.X > size.Width+0.5 || !scrolled && (p.Y < -0.5 || end.Y > size.Height+0.5)) {
			t.Errorf("%s at %v: %T at %v size %v reaches past the window", what, size, o, p, box)
			return false
		}
		if strings.HasSuffix(fmt.Sprintf("%T", o), ".Shadow") {
			return true // drawn around a dialog, outside it by design
		}
		var kids []fyne.CanvasObject
		switch x := o.(type) {
		case *fyne.Container:
			kids = x.Objects
		case fyne.Widget:
			kids = test.WidgetRenderer(x).Objects()
		}
		if _, ok := o.(*container.Scroll); ok {
			scrolled = true // content may be taller than its view
		}
		for _, k := range kids {
			if !walk(k, p, scrolled) {
				return false
			}
		}
		return true
	}
	walk(o, fyne.Position{}, false)
}

func TestLayoutMainList(t *testing.T) {
	for _, size := range []fyne.Size{defaultSize, minimumSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			h := newHarness(t, Keyring, seedLong)
			h.w.Resize(size)
			relayout(h.w)
			fits(t, "main list", h.w, h.w.Content())
			if v := h.app.view(h.app.shown[0], h.clock.Now()); v.Secs != "30 s" {
				t.Errorf("seconds left beside the bar: %q, want \"30 s\"", v.Secs)
			}
			if size == defaultSize {
				goldenImage(t, "default_accounts.png", h.w.Canvas())
			}
		})
	}
}

func TestLayoutAddDialog(t *testing.T) {
	for _, size := range []fyne.Size{defaultSize, minimumSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			h := newHarness(t, Keyring, seedLong)
			h.w.Resize(size)
			h.app.showAdd()
			relayout(h.w)
			fits(t, "add dialog", h.w, overlay(t, h.w))
			if size == defaultSize {
				goldenImage(t, "default_add.png", h.w.Canvas())
			}
		})
	}
}

func TestLayoutSettings(t *testing.T) {
	for _, size := range []fyne.Size{defaultSize, minimumSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			h := newHarness(t, File, seedLong)
			h.w.Resize(size)
			h.app.showSettings()
			relayout(h.w)
			fits(t, "settings", h.w, overlay(t, h.w))
			if size == defaultSize {
				goldenImage(t, "default_settings.png", h.w.Canvas())
			}
		})
	}
}

func TestLayoutFirstRunDialog(t *testing.T) {
	for _, size := range []fyne.Size{defaultSize, minimumSize} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			test.NewTempApp(t)
			w := test.NewTempWindow(t, nil)
			w.Resize(size)
			u := New(w, Deps{
				Clock: &fakeClock{now: t0},
				Open: func(context.Context, Backend, Prompts) (Store, error) {
					return nil, fmt.Errorf("store: open: %w", store.ErrKeyringUnavailable)
				},
			})
			u.async = func(f func()) { f() }
			u.Start(context.Background())
			relayout(w)
			d := overlay(t, w)
			fits(t, "first-run dialog", w, d)
			fits(t, "first-run screen", w, w.Content())
			if size == defaultSize {
				goldenImage(t, "default_first_run.png", w.Canvas())
			}
		})
	}
}
