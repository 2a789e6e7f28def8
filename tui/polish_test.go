package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"latchkey/core/otp"
)

// shownIssuers lists the issuers (or names) of the accounts on screen,
// in order.
func (h *harness) shown() []string {
	l := h.model().list
	var out []string
	for {
		it, ok := l.Selected()
		if !ok {
			break
		}
		out = append(out, it.Label())
		before := it.ID
		l, _ = l.Update(tea.KeyMsg{Type: tea.KeyDown})
		if it, _ := l.Selected(); it.ID == before {
			break
		}
	}
	return out
}

// TestFilterSubstring: the filter works as the desktop's search: whole
// issuer, name or label first, then the accounts whose label or a tag
// contains the text; scattered letters match nothing.
func TestFilterSubstring(t *testing.T) {
	h := newHarness(t, harnessOpts{width: 100, height: 24})
	h.store.put(Account{Issuer: "Google", Name: "bob@gmail.com", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30}, seedSHA1)
	h.store.put(Account{Issuer: "GitHub Enterprise", Name: "carol", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30}, seedSHA1)
	h.store.put(Account{Issuer: "Gitea", Name: "github", Type: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30}, seedSHA1)
	h.clock.t = h.clock.t.Add(ReloadEvery)
	h.send(TickMsg{Time: h.clock.t})
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"git", []string{"GitHub:alice@example.com", "GitHub Enterprise:carol", "Gitea:github"}},
		// Exact first: the issuer GitHub, then the name github, then the rest.
		{"GitHub", []string{"GitHub:alice@example.com", "Gitea:github", "GitHub Enterprise:carol"}},
		{"prod", []string{"AWS:root"}}, // a tag
		{"gthb", nil},
		{"aws:ro", []string{"AWS:root"}},
	} {
		h.keys("/", "ctrl+u", tt.q)
		got := h.shown()
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("/%s shows %q, want %q", tt.q, got, tt.want)
		}
		h.keys("esc")
	}
}

// codeColumn is the cell at which the row of label shows its code.
func codeColumn(t *testing.T, view, name, code string) int {
	t.Helper()
	for _, line := range strings.Split(view, "\n") {
		if strings.Contains(line, name) {
			before, _, ok := strings.Cut(line, code)
			if !ok {
				t.Fatalf("row of %s lacks %s: %q", name, code, line)
			}
			return lipgloss.Width(before)
		}
	}
	t.Fatalf("no row of %s in\n%s", name, view)
	return 0
}

// TestFilterKeepsColumns: filtering does not move the columns.
func TestFilterKeepsColumns(t *testing.T) {
	h := newHarness(t, harnessOpts{width: 100, height: 24})
	before := codeColumn(t, h.view(), "alice@example.com", "081 804")
	h.keys("/", "alice")
	if after := codeColumn(t, h.view(), "alice@example.com", "081 804"); after != before {
		t.Fatalf("the code moved from cell %d to %d while filtering:\n%s", before, after, h.view())
	}
}

// TestWideNamesFirst: at 100 columns names get the width before the
// algorithm details; the details show where there is room.
func TestWideNamesFirst(t *testing.T) {
	h := newHarness(t, harnessOpts{width: 100, height: 24})
	h.wantView("a.very.long.user.name@subsidiary.example.com", "personal@example.org")
	for _, line := range strings.Split(h.view(), "\n") {
		if w := lipgloss.Width(line); w > 100 {
			t.Fatalf("line of %d cells: %q", w, line)
		}
		if strings.HasSuffix(line, "   ") {
			t.Fatalf("blank columns at the end of %q while names are cut", line)
		}
	}
	h.send(tea.WindowSizeMsg{Width: 160, Height: 24})
	h.wantView("a.very.long.user.name@subsidiary.example.com", "SHA256 8d 30s", "work,prod")
}

// TestOneAccount: "1 account", not "1 accounts".
func TestOneAccount(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.keys("/", "aws")
	h.wantView("1 of 5 accounts")
	h.store.accounts = h.store.accounts[:1]
	h.keys("esc")
	h.clock.t = h.clock.t.Add(ReloadEvery)
	h.send(TickMsg{Time: h.clock.t})
	h.wantView("1 account ·")
}

// TestNarrowFooter: at 40x20 every screen's key line keeps its way out
// (esc, q or n) and is not cut; the help screen shows every key or
// says that more is hidden.
func TestNarrowFooter(t *testing.T) {
	for _, tt := range []struct {
		name string
		keys []string
		last string
	}{
		{"list", nil, "q quit"},
		{"filter", []string{"/", "x"}, "esc clear"},
		{"help", []string{"?"}, "q quit"},
		{"add", []string{"a"}, "esc back"},
		{"rename", []string{"e"}, "esc back"},
		{"delete", []string{"d"}, "n/esc no"},
		{"qr", []string{"v", "y"}, "esc hide"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOpts{width: 40, height: 20})
			h.keys(tt.keys...)
			lines := strings.Split(h.view(), "\n")
			if len(lines) != 20 {
				t.Fatalf("%d lines", len(lines))
			}
			foot := lines[len(lines)-1]
			if strings.Contains(foot, "…") || !strings.HasSuffix(foot, tt.last) {
				t.Fatalf("key line %q, want it to end in %q uncut", foot, tt.last)
			}
		})
	}
	h := newHarness(t, harnessOpts{width: 40, height: 20})
	h.keys("?")
	lines := strings.Split(h.view(), "\n")
	body := flat(strings.Join(lines[:len(lines)-2], "\n"))
	for _, g := range h.model().list.FullHelp() {
		for _, k := range g {
			if kd := k.Help().Key + " " + k.Help().Desc; !strings.Contains(body, kd) {
				t.Errorf("the help at 40x20 lacks %q:\n%s", kd, h.view())
			}
		}
	}
	h = newHarness(t, harnessOpts{width: 40, height: 12})
	h.keys("?")
	h.wantView("taller")
}
