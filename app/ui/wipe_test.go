package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"latchkey/core/otp"
)

// wiped reports whether g holds no key material: after Wipe every code
// is zeros.
func wiped(g *otp.Generator) bool {
	zeros := strings.Repeat("0", g.Options().Digits)
	return g.Code(1) == zeros && g.Code(2) == zeros && g.Code(3) == zeros
}

// gensOf returns the app's generators by account title.
func gensOf(h *harness) map[string]*otp.Generator {
	out := map[string]*otp.Generator{}
	for _, a := range h.app.all {
		if g := h.app.gens[a.ID]; g != nil {
			out[h.app.view(a, h.clock.Now()).Title] = g
		}
	}
	return out
}

func TestDeleteWipesGenerator(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	gens := gensOf(h)
	if len(gens) != 2 {
		t.Fatalf("%d generators for the two TOTP accounts", len(gens))
	}
	h.w.Canvas().Unfocus()
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDown}) // select GitHub
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyDelete})
	test.Tap(button(t, overlay(t, h.w), "Delete"))
	if !wiped(gens["GitHub"]) {
		t.Error("the deleted account's generator still holds its key")
	}
	if wiped(gens["Example"]) {
		t.Error("the other account's generator was wiped")
	}
	if len(h.app.gens) != 1 {
		t.Errorf("%d generators kept, want 1", len(h.app.gens))
	}
}

// An account deleted by another process (the TUI) drops out of the list
// at the next poll, and its generator is wiped.
func TestDeletedElsewhereWipesGenerator(t *testing.T) {
	h := newHarness(t, Keyring, seedThree)
	gens := gensOf(h)
	if err := h.store.Delete(context.Background(), h.store.accts[0].ID); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(pollEvery)
	if !wiped(gens["GitHub"]) || wiped(gens["Example"]) {
		t.Errorf("after the poll: GitHub wiped %v (want true), Example wiped %v (want false)",
			wiped(gens["GitHub"]), wiped(gens["Example"]))
	}
}

func TestLockAndStopWipeGenerators(t *testing.T) {
	for _, how := range []string{"lock", "stop"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t, File, seedThree)
			gens := gensOf(h)
			if how == "lock" {
				h.app.lock()
			} else {
				h.app.Stop()
			}
			for title, g := range gens {
				if !wiped(g) {
					t.Errorf("after %s the generator of %s still holds its key", how, title)
				}
			}
			if len(h.app.gens) != 0 {
				t.Errorf("%d generators kept after %s", len(h.app.gens), how)
			}
		})
	}
}
