package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
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
// seeded file store and checks the rows it lists (its debug dump, codes
// included) and the pixels it draws (a screenshot: not blank, each row's
// avatar colour present).
func TestDesktopShowsAccounts(t *testing.T) {
	display := testenv.Env(t, "DISPLAY")
	testenv.Tool(t, "xwd")
	testenv.Tool(t, "xdotool")
	bins := build(t)
	storeHome := filepath.Join(t.TempDir(), "latchkey")
	accts := seed(t, storeHome, []store.Account{
		{Issuer: "GitHub", Name: "alice@example.com"},
		{Issuer: "Fastmail", Name: "alice", Algorithm: otp.SHA256, Digits: 8},
		{Issuer: "Quay", Name: "ops", Tags: []string{"work"}},
	})

	p := start(t, bins.desktop, display, storeHome)
	win, _ := p.firstFrame(t, display, 60*time.Second)
	rows, _ := p.rows(t, len(accts), 60*time.Second)
	now := time.Now()
	for i, s := range accts {
		f := strings.Split(rows[i], "\t")
		if len(f) != 3 || f[0] != s.account.Issuer || !strings.HasPrefix(f[1], s.account.Name) {
			t.Errorf("row %d = %q, want %s %s", i, rows[i], s.account.Issuer, s.account.Name)
			continue
		}
		// The dump may be up to a second old: accept this step's code or
		// the previous second's.
		ok := false
		for _, at := range []time.Time{now, now.Add(-time.Second), now.Add(-2 * time.Second)} {
			code, err := otp.TOTPCode(s.secret, at, s.account.Options())
			if err != nil {
				t.Fatal(err)
			}
			ok = ok || f[2] == otp.Group(code)
		}
		if !ok {
			t.Errorf("row %d shows code %q, not the account's current code", i, f[2])
		}
	}

	// Let the list settle, then look at the screen.
	time.Sleep(500 * time.Millisecond)
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
	// store: the dump is the list as read back).
	xdotool(t, display, "windowfocus", "--sync", win)
	xdotool(t, display, "mousemove", "--window", win, "200", "70", "mousedown", "1")
	for y := 80; y <= 190; y += 10 {
		xdotool(t, display, "mousemove", "--window", win, "200", fmt.Sprint(y))
	}
	xdotool(t, display, "mouseup", "1")
	want := []string{accts[1].account.Issuer, accts[2].account.Issuer, accts[0].account.Issuer}
	waitOrder(t, p, want)

	// Typing into the window (nothing focused) starts a search.
	xdotool(t, display, "type", "--delay", "50", "qua")
	rows, _ = p.rows(t, 1, 20*time.Second)
	if !strings.HasPrefix(rows[0], "Quay\t") {
		t.Errorf("after typing \"qua\" the list shows %q", rows)
	}
}

// waitOrder waits until the dump lists the issuers in order.
func waitOrder(t *testing.T, p *proc, want []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows, _ := p.rows(t, len(want), 20*time.Second)
		var got []string
		for _, r := range rows {
			got = append(got, strings.Split(r, "\t")[0])
		}
		if strings.Join(got, ",") == strings.Join(want, ",") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %q, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func xdotool(t *testing.T, display string, args ...string) {
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
// when all 200 rows and codes are listed, after the vault's scrypt unlock).
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
				_, d := p.firstFrame(b, display, 60*time.Second)
				frame += float64(d.Milliseconds())
				if bc.home != "" {
					_, d = p.rows(b, len(many), 60*time.Second)
					ready += float64(d.Milliseconds())
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
