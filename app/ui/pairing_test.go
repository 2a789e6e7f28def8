package ui

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"latchkey/core/store"
)

// TestPairUnpair: Settings' Sign-ins section pairs the chosen account
// with a pasted link and unpairs it after a confirmation.
func TestPairUnpair(t *testing.T) {
	h, _ := newApprovalHarness(t)
	var calls []string
	h.app.deps.Pairing = Pairing{
		Pair: func(ctx context.Context, s Store, link, id string) (Account, error) {
			calls = append(calls, "pair "+link+" "+id)
			return s.Update(ctx, id, func(a *Account) error {
				a.Pairing = &store.Pairing{Server: "https://idp.example", Device: "d1"}
				return nil
			})
		},
		Unpair: func(ctx context.Context, s Store, id string) error {
			calls = append(calls, "unpair "+id)
			_, err := s.Update(ctx, id, func(a *Account) error { a.Pairing = nil; return nil })
			return err
		},
	}
	h.app.showPairing()
	d := overlay(t, h.w)
	var entry *widget.Entry
	var sel *widget.Select
	for _, o := range test.LaidOutObjects(d) {
		switch x := o.(type) {
		case *widget.Entry:
			entry = x
		case *widget.Select:
			sel = x
		}
	}
	test.Tap(button(t, d, "Pair"))
	if got := texts(d); !strings.Contains(got, "pairing link is invalid") || len(calls) != 0 {
		t.Fatalf("an empty link: %v\n%s", calls, got)
	}
	entry.SetText("https://idp.example/pair#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	sel.SetSelected("GitHub:alice@example.com")
	test.Tap(button(t, d, "Pair"))
	if len(calls) != 1 || calls[0] != "pair https://idp.example/pair#AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA id01" {
		t.Fatalf("calls %v\n%s", calls, texts(d))
	}
	if got := texts(h.w.Content()); !strings.Contains(got, "Paired GitHub:alice@example.com with https://idp.example") {
		t.Errorf("status:\n%s", got)
	}
	if !strings.Contains(texts(h.app.signinSetting()), "1 account approves sign-ins") {
		t.Errorf("settings: %s", texts(h.app.signinSetting()))
	}

	h.app.showPairing()
	d = overlay(t, h.w)
	if !strings.Contains(texts(d), "GitHub:alice@example.com · https://idp.example") {
		t.Fatalf("paired list:\n%s", texts(d))
	}
	test.Tap(button(t, d, "Unpair…"))
	test.Tap(button(t, overlay(t, h.w), "Yes"))
	if len(calls) != 2 || calls[1] != "unpair id01" {
		t.Fatalf("calls %v", calls)
	}
	if got := texts(h.w.Content()); !strings.Contains(got, "Unpaired GitHub:alice@example.com.") {
		t.Errorf("status:\n%s", got)
	}
}
