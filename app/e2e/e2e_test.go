package e2e

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"latchkey/app/ui"
	"latchkey/core/otp"
	"latchkey/core/store"
	"latchkey/core/testenv"
)

var shot = flag.String("shot", "", "also write the end-to-end screenshot to this PNG file")

// TestDesktopShowsAccounts starts the real latchkey-desktop under X with a
// seeded file store and checks what the window shows: the text read from a
// screenshot by OCR (tesseract) holds every account's issuer and name and
// the code oathtool computes from its secret; the pixels are not blank and
// hold each row's avatar colour. Dragging a row reorders the list, and
// typing searches it.
func TestDesktopShowsAccounts(t *testing.T) {
	display := testenv.Env(t, "DISPLAY")
	testenv.Tool(t, "xwd")
	testenv.Tool(t, "xdotool")
	testenv.Tool(t, "tesseract")
	oathtool := testenv.Tool(t, "oathtool")
	bins := build(t)
	storeHome := filepath.Join(t.TempDir(), "latchkey")
	accts := seed(t, storeHome, []store.Account{
		{Issuer: "GitHub", Name: "alice@example.com"},
		{Issuer: "Fastmail", Name: "alice", Algorithm: otp.SHA256, Digits: 8},
		{Issuer: "Quay", Name: "ops", Tags: []string{"work"}},
	})

	p := start(t, bins.desktop, display, storeHome)
	win, _ := p.firstFrame(t, display, 60*time.Second)
	// The codes shown: those of the step a second before the screenshot
	// (the app redraws on whole seconds) up to the step after it.
	var before time.Time
	missing := func(text string) []string {
		after := time.Now()
		lines := slices.DeleteFunc(strings.Split(text, "\n"), func(l string) bool { return strings.TrimSpace(l) == "" })
		var miss []string
		for _, s := range accts {
			// A row reads "Issuer 123 456" then "name #tags next 654 321".
			i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, s.account.Issuer+" ") })
			if i < 0 || i+1 == len(lines) || !strings.HasPrefix(lines[i+1], s.account.Name) {
				miss = append(miss, s.account.Label())
				continue
			}
			digits := strings.Join(strings.Fields(strings.TrimPrefix(lines[i], s.account.Issuer)), "")
			var codes []string
			for _, at := range []time.Time{before.Add(-time.Second), after} {
				codes = append(codes, oathtoolCode(t, oathtool, s, at))
			}
			if !slices.Contains(codes, digits) {
				miss = append(miss, fmt.Sprintf("the code of %s (read %q, oathtool %v)", s.account.Label(), digits, slices.Compact(codes)))
			}
		}
		return miss
	}
	before = time.Now()
	p.read(t, display, win, 60*time.Second, "every account with its code", func(text string) bool {
		m := missing(text)
		if len(m) > 0 {
			t.Logf("not read yet: %s in\n%s", strings.Join(m, ", "), text)
		}
		before = time.Now()
		return len(m) == 0
	})

	// The pixels: not blank, and each row's avatar drawn.
	root, err := xwd(display, "root")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, root); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "screen.png")
	if *shot != "" {
		path = *shot
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	r, err := geometry(display, win)
	if err != nil {
		t.Fatal(err)
	}
	w := crop(root, r)
	if c, share := dominant(w); share > 0.97 {
		t.Errorf("the window is blank: %.1f%% of it is %v", 100*share, c)
	}
	seen := map[color.NRGBA]string{}
	for _, s := range accts {
		c := ui.AvatarColor(s.account.Issuer)
		if other, ok := seen[c]; ok {
			t.Fatalf("%s and %s share an avatar colour: seed issuers that tell rows apart", other, s.account.Issuer)
		}
		seen[c] = s.account.Issuer
		if n := count(w, c); n < 300 {
			t.Errorf("the avatar of %s (%v) is not drawn: %d pixels of its colour", s.account.Issuer, c, n)
		}
	}

	// Dragging the first row two rows down reorders the accounts (in the
	// store: the list is read back from it).
	xdotool(t, display, "windowfocus", "--sync", win)
	xdotool(t, display, "mousemove", "--window", win, "200", "70", "mousedown", "1")
	for y := 80; y <= 190; y += 10 {
		xdotool(t, display, "mousemove", "--window", win, "200", fmt.Sprint(y))
	}
	xdotool(t, display, "mouseup", "1")
	want := []string{accts[1].account.Issuer, accts[2].account.Issuer, accts[0].account.Issuer}
	p.read(t, display, win, 20*time.Second, "the order "+strings.Join(want, ", "), func(text string) bool {
		return slices.Equal(issuerOrder(text, want), want)
	})

	// Typing into the window (nothing focused) starts a search.
	xdotool(t, display, "type", "--delay", "50", "qua")
	p.read(t, display, win, 20*time.Second, "Quay alone after typing \"qua\"", func(text string) bool {
		return strings.Contains(text, "Quay") && !strings.Contains(text, "GitHub") && !strings.Contains(text, "Fastmail")
	})
}

// oathtoolCode is oathtool's code for account s at time at.
func oathtoolCode(t *testing.T, oathtool string, s seeded, at time.Time) string {
	t.Helper()
	o := s.account.Options()
	args := []string{
		"--totp=" + o.Algorithm.String(),
		fmt.Sprintf("--digits=%d", o.Digits),
		fmt.Sprintf("--time-step-size=%ds", o.Period),
		fmt.Sprintf("--now=@%d", at.Unix()),
		hex.EncodeToString(s.secret),
	}
	out, err := exec.Command(oathtool, args...).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// issuerOrder returns the issuers found in text, in the order they appear.
func issuerOrder(text string, issuers []string) []string {
	found := slices.DeleteFunc(slices.Clone(issuers), func(s string) bool { return !strings.Contains(text, s) })
	slices.SortFunc(found, func(a, b string) int { return strings.Index(text, a) - strings.Index(text, b) })
	return found
}

func xdotool(t testing.TB, display string, args ...string) {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(cmd.Environ(), "DISPLAY="+display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// BenchmarkStartup measures, in one run, start to first frame and memory
// of an empty Fyne window and of latchkey-desktop with 200 accounts in a
// file store (whose first frame is its "opening" screen; accounts-ms is
// when the first row's avatar is drawn: the list replaces that screen only
// once the vault's scrypt unlock is done and every code is computed).
func BenchmarkStartup(b *testing.B) {
	display := testenv.Env(b, "DISPLAY")
	testenv.Tool(b, "xwd")
	testenv.Tool(b, "xdotool")
	bins := build(b)
	storeHome := filepath.Join(b.TempDir(), "latchkey")
	many := make([]store.Account, 200)
	for i := range many {
		many[i] = store.Account{Issuer: fmt.Sprintf("Issuer%03d", i), Name: "user@example.com"}
	}
	seed(b, storeHome, many)

	for _, bc := range []struct {
		name, bin, home string
	}{
		{"empty-window", bins.empty, ""},
		{"latchkey-200-accounts", bins.desktop, storeHome},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var frame, ready, rss float64
			for range b.N {
				p := start(b, bc.bin, display, bc.home)
				win, d := p.firstFrame(b, display, 60*time.Second)
				frame += float64(d.Milliseconds())
				if bc.home != "" {
					ready += float64(p.avatar(b, display, win, many[0].Issuer, 60*time.Second).Milliseconds())
				}
				time.Sleep(time.Second) // settle before reading memory
				rss += p.rss(b)
				p.stop()
			}
			n := float64(b.N)
			b.ReportMetric(frame/n, "first-frame-ms")
			if bc.home != "" {
				b.ReportMetric(ready/n, "accounts-ms")
			}
			b.ReportMetric(rss/n/(1<<20), "RSS-MiB")
		})
	}
}
