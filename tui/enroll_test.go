package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"latchkey/core/enroll"
	"latchkey/core/otp"
	"latchkey/tui/components/form"
)

// testToken is a well-formed link token (32 zero bytes, base64url).
const testToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

const testLink = "https://auth.example.com/enroll#" + testToken

// fakeEnroller stands in for core/enroll.Enroll: it records each link and
// stores acc (secret seed) through the UI's store, or fails with err.
type fakeEnroller struct {
	mu     sync.Mutex
	links  []string
	forces []bool
	acc    Account
	seed   string
	err    error
}

func newFakeEnroller() *fakeEnroller {
	return &fakeEnroller{
		acc:  Account{Issuer: "Latchkey", Name: "dave@example.com", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30},
		seed: seedSHA1,
	}
}

func (f *fakeEnroller) enroll(ctx context.Context, link string, s Store, force bool) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.links = append(f.links, link)
	f.forces = append(f.forces, force)
	if f.err != nil {
		return Account{}, f.err
	}
	sec, err := otp.DecodeSecret(f.seed)
	if err != nil {
		return Account{}, err
	}
	return s.Add(ctx, f.acc, sec, force)
}

func (f *fakeEnroller) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.links)
}

// step sends msg to the model without running the command it returns.
func (h *harness) step(msg tea.Msg) tea.Cmd {
	h.t.Helper()
	var cmd tea.Cmd
	h.m, cmd = h.m.Update(msg)
	return cmd
}

// TestEnrollLink: a link pasted into the URI field is described (server,
// never the token), redeemed in a command, not in Update, with a progress
// screen meanwhile, and the account then appears selected with its code.
func TestEnrollLink(t *testing.T) {
	fe := newFakeEnroller()
	h := newHarness(t, harnessOpts{width: 100, height: 24, enroll: fe.enroll})
	h.keys("a")
	h.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("  " + testLink + "\n"), Paste: true})
	h.wantView("→ enrollment link from https://auth.example.com")
	h.wantNotView(testToken[:12])

	submit := h.step(tea.KeyMsg{Type: tea.KeyEnter})
	if submit == nil {
		t.Fatalf("enter did not submit:\n%s", h.view())
	}
	msg, ok := submit().(form.EnrollMsg)
	if !ok || strings.TrimSpace(msg.Link) != testLink {
		t.Fatalf("submitted %T %+v", msg, msg)
	}
	redeem := h.step(msg)
	if fe.calls() != 0 {
		t.Fatal("Update redeemed the link itself")
	}
	if redeem == nil {
		t.Fatal("no command to redeem the link")
	}
	h.wantView("Redeeming the enrollment link")
	h.run(redeem)

	if fe.calls() != 1 || !fe.forces[0] {
		t.Fatalf("enroller calls %v force %v", fe.links, fe.forces)
	}
	if h.model().state != stateList {
		t.Fatalf("state %d after enrolling:\n%s", h.model().state, h.view())
	}
	h.wantView("Enrolled and confirmed Latchkey:dave@example.com.", "6 accounts", "Latchkey")
	if it := h.selected(); it.Name != "dave@example.com" || it.Gen == nil {
		t.Fatalf("selected %+v", it)
	}
	// The new row shows the RFC code of its secret at once (same seed as
	// GitHub:alice, so the code appears twice).
	g, err := otp.NewGenerator(mustSecret(t, seedSHA1), otp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	code := otp.Group(g.At(h.clock.t))
	if n := strings.Count(h.view(), code); n != 2 {
		t.Fatalf("code %s shown %d times, want 2:\n%s", code, n, h.view())
	}
	if last := h.store.calls[len(h.store.calls)-1]; last != "secret id06" {
		t.Fatalf("last store call %q", last)
	}
}

// TestEnrollLinkFails: the enroller's error (a spent, expired or wrong
// link) is shown in the form as core/enroll words it, the store is left
// alone, and the link's token never reaches the screen.
func TestEnrollLinkFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"spent", enroll.ErrInvalidLink, "Not enrolled: " + enroll.ErrInvalidLink.Error()},
		{"code refused", enroll.ErrCodeRejected, "Not enrolled: " + enroll.ErrCodeRejected.Error()},
		{"unreachable", fmt.Errorf("enroll: cannot reach the server: %w", errors.New("connection refused")), "Not enrolled: cannot reach the server: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe := newFakeEnroller()
			fe.err = tc.err
			h := newHarness(t, harnessOpts{width: 100, height: 24, enroll: fe.enroll})
			h.keys("a", testLink, "enter")
			if fe.calls() != 1 {
				t.Fatalf("enroller called %d times", fe.calls())
			}
			if h.model().state != stateAdd {
				t.Fatalf("state %d, want the form:\n%s", h.model().state, h.view())
			}
			h.wantView(tc.want)
			h.wantNotView(testToken[:12])
			if len(h.store.accounts) != 5 {
				t.Fatalf("%d accounts stored", len(h.store.accounts))
			}
			// Esc goes back to the list, unchanged.
			h.keys("esc")
			h.wantView("5 accounts")
		})
	}
}

// TestEnrollLinkVsURI: what is typed in the URI field decides the way in:
// an otpauth URI is added directly, a link goes to the enroller, a broken
// link is a field error naming what is wrong (and calls nothing).
func TestEnrollLinkVsURI(t *testing.T) {
	for _, tc := range []struct {
		name     string
		text     string
		enrolled bool   // the enroller was called
		status   string // after enter ("" = still in the form)
		fieldErr string // the URI field's message
	}{
		{"otpauth", "otpauth://totp/ACME:carol?secret=JBSWY3DPEHPK3PXP&issuer=ACME", false, "Added ACME:carol.", ""},
		{"link", testLink, true, "Enrolled and confirmed Latchkey:dave@example.com.", ""},
		{"link, upper-case scheme, path", "HTTPS://auth.example.com/latchkey/enroll#" + testToken, true, "Enrolled and confirmed", ""},
		{"link, plain http", "http://127.0.0.1:8080/enroll#" + testToken, true, "Enrolled and confirmed", ""},
		{"link cut short", testLink[:len(testLink)-5], false, "", "enrollment link: the token is missing or cut short"},
		{"not an enroll path", "https://auth.example.com/login#" + testToken, false, "", "enrollment link: the link must end in /enroll#TOKEN"},
		{"other scheme", "ftp://auth.example.com/enroll#" + testToken, false, "", "scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fe := newFakeEnroller()
			h := newHarness(t, harnessOpts{width: 100, height: 24, enroll: fe.enroll})
			h.keys("a", tc.text, "enter")
			if got := fe.calls() == 1; got != tc.enrolled {
				t.Fatalf("enroller called: %v, want %v", got, tc.enrolled)
			}
			if tc.enrolled && fe.links[0] != tc.text {
				t.Fatal("the enroller got another link")
			}
			if tc.status != "" {
				if h.model().state != stateList {
					t.Fatalf("not added:\n%s", h.view())
				}
				h.wantView(tc.status, "6 accounts")
				return
			}
			if h.model().state != stateAdd || !strings.Contains(h.model().form.Error(form.URI), tc.fieldErr) {
				t.Fatalf("URI error %q, want %q", h.model().form.Error(form.URI), tc.fieldErr)
			}
			h.wantNotView(testToken[:12])
			if len(h.store.accounts) != 5 {
				t.Fatalf("%d accounts stored", len(h.store.accounts))
			}
		})
	}
}

// TestEnrollLinkDuplicate: a spent link cannot be retried, so a name that
// already exists is stored beside it (force) and the status says so.
func TestEnrollLinkDuplicate(t *testing.T) {
	fe := newFakeEnroller()
	fe.acc.Issuer, fe.acc.Name = "GitHub", "alice@example.com"
	h := newHarness(t, harnessOpts{width: 100, height: 24, enroll: fe.enroll})
	h.keys("a", testLink, "enter")
	h.wantView("Enrolled and confirmed GitHub:alice@example.com (beside the one of the same name).", "6 accounts")
	if last := h.store.calls[len(h.store.calls)-2]; last != "add GitHub:alice@example.com force=true" {
		t.Fatalf("store call %q", last)
	}
}

// TestEnrollWithoutEnroller: a UI built without an enroller says how else
// to redeem the link.
func TestEnrollWithoutEnroller(t *testing.T) {
	h := newHarness(t, harnessOpts{width: 100, height: 24})
	h.keys("a", testLink, "enter")
	if h.model().state != stateAdd {
		t.Fatalf("state %d", h.model().state)
	}
	h.wantView("latchkey enroll LINK")
}
