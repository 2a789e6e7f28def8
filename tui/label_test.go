package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/otp"
)

// hostile are labels as older versions stored them, from otpauth URIs,
// QR images, import files and enrollment servers: a clipboard write
// (OSC 52), a screen wipe, a bell, a bidi override and a newline that
// would forge a row.
var hostile = []Account{
	{Issuer: "Evil\x1b]52;c;aGk=\x07", Name: "clip", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30, Tags: []string{"t\x1b[31m"}},
	{Issuer: "Wipe", Name: "x\x1b[2Jy", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30},
	{Issuer: "Bell\x07", Name: "\u202emoc.elgoog", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30},
	{Issuer: "Forge", Name: "first\nGitHub · forged", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30},
}

// rawBytes are what must never reach the terminal from a label.
var rawBytes = []string{"\x1b", "\x07", "\u202e"}

func hostileHarness(t *testing.T, width int) *harness {
	t.Helper()
	h := newHarness(t, harnessOpts{width: width, height: 30})
	h.store.accounts = nil
	for _, a := range hostile {
		h.store.put(a, seedSHA1)
	}
	h.clock.t = h.clock.t.Add(ReloadEvery)
	h.send(TickMsg{Time: h.clock.t})
	return h
}

func wantEscaped(t *testing.T, what, v string) {
	t.Helper()
	for _, b := range rawBytes {
		if strings.Contains(v, b) {
			t.Fatalf("%s: the view holds %q raw:\n%q", what, b, v)
		}
	}
}

// TestLabelsEscaped: labels and tags from outside are shown escaped in
// the list, one row per account, in dialogs and in status messages.
func TestLabelsEscaped(t *testing.T) {
	for _, w := range []int{40, 100} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			h := hostileHarness(t, w)
			v := h.view()
			wantEscaped(t, "list", v)
			golden(t, fmt.Sprintf("escaped-%d", w), v)
			h.wantView(`Evil\x1b]52;c;a`, `x\x1b[2Jy`, `\u202emoc.elgoog`, `first\nGitHub`)
			// One row per account: wide rows take one line, narrow two.
			per := 1
			if w < 80 {
				per = 2
			}
			body := strings.Split(v, "\n")[2:]
			rows := 0
			for _, l := range body {
				if strings.TrimSpace(l) != "" {
					rows++
				}
			}
			// The footer (help) line is not blank.
			if want := len(hostile)*per + 1; rows != want {
				t.Fatalf("%d lines of rows and footer, want %d:\n%s", rows, want, v)
			}
			if w >= 80 {
				h.wantView(`t\x1b[31m`)
			}
			// Dialogs about an account.
			h.keys("d")
			wantEscaped(t, "delete", h.view())
			h.wantView(`Delete Evil\x1b]52;c;aGk=\x07:clip?`)
			h.keys("n", "j", "j", "e")
			wantEscaped(t, "rename", h.view())
			// The text to edit is the cleaned label.
			h.wantView("> Bell:moc.elgoog")
			h.keys("esc", "g")
			h.keys("esc", "v")
			wantEscaped(t, "qr question", h.view())
			h.keys("y")
			wantEscaped(t, "qr", h.view())
			h.keys("esc")
			// Status messages name the account.
			h.keys("c")
			wantEscaped(t, "status", h.view())
			h.wantView(`Copied the code of Evil\x1b]52`)
			h.clip.err = errors.New("xclip: \x1b]52;c;ZXZpbA==\x07")
			h.keys("c")
			wantEscaped(t, "error status", h.view())
			h.wantView(`Could not copy: xclip: \x1b]52`)
			h.keys("j", "j", "j")
			h.keys("d", "y")
			wantEscaped(t, "deleted", h.view())
			h.wantView(`Deleted Forge:first\nGitHub`)
		})
	}
}

// TestStoreErrorEscaped: an error from the store (whose text may quote a
// file or a server) is escaped on the error screen.
func TestStoreErrorEscaped(t *testing.T) {
	h := newHarness(t, harnessOpts{open: func(context.Context, OpenOptions) (Store, error) {
		return nil, errors.New("store: server said \x1b[2J\x1b]52;c;aGk=\x07 no")
	}})
	wantEscaped(t, "error screen", h.view())
	h.wantView(`\x1b[2J`)
}

// TestFormErrorEscaped: an enrollment server's message shown in the add
// form is escaped.
func TestFormErrorEscaped(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("a")
	h.send(EnrolledMsg{Err: errors.New("enroll: server: \x1b]52;c;aGk=\x07 \u202egone")})
	wantEscaped(t, "form", h.view())
	h.wantView(`\x1b]52;c;aGk=\x07`)
	// A URI whose label carries escapes: the preview escapes it.
	h.keys("esc", "a")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("otpauth://totp/Evil%1B%5B2J:bob?secret=JBSWY3DPEHPK3PXP"), Paste: true})
	wantEscaped(t, "preview", h.view())
}
