package e2e

import (
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"latchkey/core/testenv"
)

// TestDesktopApprovals: a new user pairs an account with a real `latchkey
// serve` through `latchkey enroll` (into an empty home), then starts the
// real latchkey-desktop. A CIBA client's bc-authorize shows a card whose
// binding message is read back from the window by OCR; a click on the
// Approve the user sees gives the client's poll an id_token that go-oidc
// verifies against the server's JWKS (the request also raised a system
// notification, read back from a real notification daemon); a click on Deny gives it
// access_denied; a short-lived request left alone disappears from the
// window and the client gets expired_token.
func TestDesktopApprovals(t *testing.T) {
	display := testenv.Env(t, "DISPLAY")
	testenv.Tool(t, "xwd")
	testenv.Tool(t, "xdotool")
	testenv.Tool(t, "tesseract")
	bins := build(t)
	cli := buildCLI(t)
	srv := serve(t, cli)
	storeHome := filepath.Join(t.TempDir(), "latchkey") // not there yet: a new user
	srv.pair(cli, storeHome, "alice")

	notes := startNotifier(t, display)
	p := start(t, bins.desktop, display, storeHome, notes.env...)
	win, _ := p.firstFrame(t, display, 60*time.Second)
	p.read(t, display, win, 60*time.Second, "the paired account", func(text string) bool {
		return strings.Contains(text, "Latchkey") && strings.Contains(text, "alice")
	})

	// Approve.
	id := srv.authorize("alice", "Checkout Walrus 8812", 0)
	text := p.readFrom(t, display, win, 0, 30*time.Second, "the card of the first request", func(text string) bool {
		return strings.Contains(text, "Walrus 8812")
	})
	if !strings.Contains(text, "Sign-in request from Shop") {
		t.Errorf("the card does not name the client; the window reads:\n%s", text)
	}
	// The system notification, shown by a real notification daemon.
	if _, body := notes.shown(t, "Sign-in request from Shop", 10*time.Second); !strings.Contains(body, "Checkout Walrus 8812") {
		t.Errorf("the notification's body is %q", body)
	}
	if m := srv.token(id); m["error"] != "authorization_pending" {
		t.Fatalf("the client's poll before any answer: %v", m)
	}
	p.click(t, display, win, "Approve")
	p.noted(t, display, win, "Approved the sign-in to Shop")
	p.readFrom(t, display, win, 0, 15*time.Second, "the card gone after Approve", func(text string) bool {
		return !strings.Contains(text, "Walrus")
	})
	m := srv.token(id)
	raw, _ := m["id_token"].(string)
	if raw == "" {
		t.Fatalf("the client's poll after Approve: %v", m)
	}
	if sub := srv.verify(raw); sub != "alice" {
		t.Errorf("the id_token's subject is %q, want alice", sub)
	}

	// Deny.
	id = srv.authorize("alice", "Checkout Heron 5530", 0)
	p.readFrom(t, display, win, 0, 30*time.Second, "the card of the second request", func(text string) bool {
		return strings.Contains(text, "Heron 5530")
	})
	p.click(t, display, win, "Deny")
	p.noted(t, display, win, "Denied the sign-in to Shop")
	p.readFrom(t, display, win, 0, 15*time.Second, "the card gone after Deny", func(text string) bool {
		return !strings.Contains(text, "Heron")
	})
	if m := srv.token(id); m["error"] != "access_denied" {
		t.Errorf("the client's poll after Deny: %v", m)
	}

	// Expiry: a request left alone goes when its time is up.
	id = srv.authorize("alice", "Checkout Otter 2719", 15*time.Second) // long enough to be read on a loaded machine
	p.readFrom(t, display, win, 0, 30*time.Second, "the card of the short-lived request", func(text string) bool {
		return strings.Contains(text, "Otter 2719")
	})
	p.readFrom(t, display, win, 0, 30*time.Second, "the short-lived request gone", func(text string) bool {
		return !strings.Contains(text, "Otter") && !strings.Contains(text, "Sign-in request")
	})
	// The card counts down from the whole seconds the server gave, so it
	// may go up to a second before the server's own expiry: the client
	// polls on (its interval is 5 s; a second or two is enough here).
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		m := srv.token(id)
		if m["error"] == "expired_token" {
			break
		}
		if m["error"] != "authorization_pending" || time.Now().After(deadline) {
			t.Fatalf("the client's poll after the request expired: %v", m)
		}
	}
}

// click clicks the middle of the smallest button whose caption, read by
// OCR, has the word label (as a user finds a button by sight), waiting
// up to 15 s for one.
func (p *proc) click(t *testing.T, display, win, label string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := geometry(display, win)
		if err != nil {
			t.Fatal(err)
		}
		img, err := screen(display, win)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, b := range buttons(t, img) {
			seen = append(seen, b.caption)
			if slices.Contains(strings.Fields(b.caption), label) {
				c := b.box.Min.Add(b.box.Size().Div(2)).Sub(r.Min)
				xdotool(t, display, "windowfocus", "--sync", win)
				xdotool(t, display, "mousemove", "--window", win, fmt.Sprint(c.X), fmt.Sprint(c.Y), "click", "1")
				return
			}
		}
		p.alive(t)
		if time.Now().After(deadline) {
			t.Fatalf("no button %q to click in the window; its buttons read %q", label, seen)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noted checks that the window shows note, which the status line shows
// for 3 s once the server has answered: it takes screenshots for 5 s
// and reads them by OCR afterwards, since reading each before taking the
// next may miss the note when OCR is slow (on a loaded machine).
func (p *proc) noted(t *testing.T, display, win, note string) {
	t.Helper()
	var shots []*image.NRGBA
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if img, err := screen(display, win); err == nil {
			shots = append(shots, img)
		}
	}
	var last string
	for _, img := range shots {
		if last = ocr(t, img); strings.Contains(last, note) {
			return
		}
	}
	t.Errorf("the window did not show %q in %d screenshots over 5 s; the last reads:\n%s", note, len(shots), last)
}
