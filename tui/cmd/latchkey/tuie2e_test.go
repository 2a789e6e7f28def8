package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"latchkey/core/otpauth"
	"latchkey/core/testenv"
)

func tuiOathtool(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "oathtool"), args...).Output()
	if err != nil {
		t.Fatalf("oathtool %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// TestTUIEndToEnd runs the real binary in tmux on the file store seeded
// through "latchkey add", and checks what it draws against oathtool.
func TestTUIEndToEnd(t *testing.T) {
	testenv.Tool(t, "tmux")
	testenv.Tool(t, "oathtool")
	bin := buildLatchkey(t)
	dir := t.TempDir()
	// A private X display: its clipboard is this test's alone, whatever
	// else runs at the same time.
	display := testenv.Display(t)
	env := []string{"LATCHKEY_HOME=" + filepath.Join(dir, "home"), "LATCHKEY_STORE=file", "LATCHKEY_PASSPHRASE=correct horse battery",
		"NO_COLOR=1", "LATCHKEY_CLIPBOARD_CLEAR=2", "DISPLAY=" + display}
	const (
		sha1Seed   = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
		sha256Seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
		hotpSeed   = "JBSWY3DPEHPK3PXP"
	)
	for _, args := range [][]string{
		{"add", "otpauth://totp/GitHub:alice@example.com?secret=" + sha1Seed + "&issuer=GitHub"},
		{"add", "--issuer", "AWS", "--name", "root", "--secret", sha256Seed, "--algorithm", "SHA256", "--digits", "8"},
		{"add", "--issuer", "Bank", "--name", "savings", "--secret", hotpSeed, "--hotp", "--counter", "5"},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("latchkey %s: %v\n%s", args[0], err, errb.String())
		}
	}
	logPath := filepath.Join(dir, "tui.log")
	tt := tuiTmux(t, env, 100, 50, bin, "--log", logPath)
	screen := tt.waitFor("the accounts", 60*time.Second, func(s string) bool { return strings.Contains(s, "3 accounts") })

	// Each TOTP row against oathtool at the time the screen was read (or a
	// step before, when the capture straddled a boundary).
	check := func(label string, oathArgs ...string) {
		t.Helper()
		for range 3 {
			before := time.Now()
			screen = tt.screen()
			after := time.Now()
			got := tuiRowCode(screen, label)
			want1 := tuiOathtool(t, append(oathArgs, "--now=@"+strconv.FormatInt(before.Unix(), 10))...)
			want2 := tuiOathtool(t, append(oathArgs, "--now=@"+strconv.FormatInt(after.Unix(), 10))...)
			if got == want1 || got == want2 {
				return
			}
			if tuiStep(before) == tuiStep(after) {
				t.Fatalf("%s shows %q, oathtool says %q; screen:\n%s", label, got, want1, screen)
			}
		}
		t.Fatalf("%s: no stable reading", label)
	}
	check("GitHub", "--totp", "-b", sha1Seed)
	check("AWS", "--totp=SHA256", "--digits=8", "-b", sha256Seed)

	// Copy to the X clipboard; the detached clearer empties it after
	// LATCHKEY_CLIPBOARD_CLEAR seconds.
	t.Run("copy", func(t *testing.T) {
		xclip := testenv.Tool(t, "xclip")
		clip := func() []byte {
			cmd := exec.Command(xclip, "-selection", "clipboard", "-out")
			cmd.Env = append(os.Environ(), "DISPLAY="+display)
			out, _ := cmd.Output()
			return out
		}
		before := time.Now()
		tt.key("c")
		tt.waitFor("the copy status", 10*time.Second, func(s string) bool { return strings.Contains(s, "Copied the code of GitHub") })
		got := clip()
		w1 := tuiOathtool(t, "--totp", "-b", sha1Seed, "--now=@"+strconv.FormatInt(before.Unix(), 10))
		w2 := tuiOathtool(t, "--totp", "-b", sha1Seed)
		if string(got) != w1 && string(got) != w2 {
			t.Fatalf("clipboard holds %q, oathtool says %q", got, w2)
		}
		deadline := time.Now().Add(15 * time.Second)
		for {
			got = clip()
			if len(got) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the clipboard was not cleared")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// v asks first, then draws a QR code that zbarimg reads back as the
	// account's URI.
	t.Run("qr", func(t *testing.T) {
		zbarimg := testenv.Tool(t, "zbarimg")
		tt.key("v")
		tt.waitFor("the confirmation", 5*time.Second, func(s string) bool { return strings.Contains(s, "as a QR code?") })
		tt.key("y")
		screen := tt.waitFor("the QR code", 10*time.Second, func(s string) bool { return strings.Contains(s, "Secret on screen") })
		png := filepath.Join(t.TempDir(), "qr.png")
		if err := tuiQRImage(screen, png); err != nil {
			t.Fatalf("%v; screen:\n%s", err, screen)
		}
		out, err := exec.Command(zbarimg, "-q", "--raw", png).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v; screen:\n%s", err, screen)
		}
		k, err := otpauth.Parse(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatal(err)
		}
		if k.Issuer != "GitHub" || k.Account != "alice@example.com" || k.Secret.Base32() != sha1Seed {
			t.Fatalf("the QR code holds %v", k)
		}
		tt.key("Escape")
		tt.waitFor("the list", 5*time.Second, func(s string) bool {
			return !strings.Contains(s, "Secret on screen") && strings.Contains(s, "3 accounts")
		})
	})

	// The HOTP account: n hands out the code of counter 5, and persists 6.
	tt.key("j")
	tt.key("j")
	tt.key("n")
	screen = tt.waitFor("the HOTP code", 10*time.Second, func(s string) bool { return strings.Contains(s, "counter 6") })
	if got, want := tuiRowCode(screen, "Bank"), tuiOathtool(t, "--hotp", "--counter=5", "-b", hotpSeed); got != want {
		t.Fatalf("HOTP shows %q, oathtool %q; screen:\n%s", got, want, screen)
	}

	// Filter: "aws" leaves one account; esc brings the others back.
	for _, k := range []string{"/", "a", "w", "s"} {
		tt.key(k)
	}
	screen = tt.waitFor("the filtered list", 5*time.Second, func(s string) bool { return strings.Contains(s, "1 of 3 accounts") })
	if strings.Contains(screen, "GitHub") || !strings.Contains(screen, "AWS") {
		t.Fatalf("filter aws shows:\n%s", screen)
	}
	tt.key("Escape")
	tt.waitFor("the whole list", 5*time.Second, func(s string) bool { return strings.Contains(s, "3 accounts") && strings.Contains(s, "GitHub") })

	// Help lists the keys; q quits from it.
	tt.key("?")
	tt.waitFor("help", 5*time.Second, func(s string) bool { return strings.Contains(s, "next HOTP code") })
	tt.key("q")
	deadline := time.Now().Add(5 * time.Second)
	for tt.alive() {
		if time.Now().After(deadline) {
			t.Fatalf("still running after q:\n%s", tt.screen())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The counter was persisted; the log has what happened and no code.
	cmd := exec.Command(bin, "list", "--json")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("latchkey list --json: %v", err)
	}
	if !regexp.MustCompile(`"counter": *6\b`).Match(out) {
		t.Fatalf("HOTP counter not persisted as 6:\n%s", out)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"accounts loaded", "tui exit"} {
		if !strings.Contains(string(log), want) {
			t.Fatalf("log lacks %q:\n%s", want, log)
		}
	}
	hotp := tuiOathtool(t, "--hotp", "--counter=5", "-b", hotpSeed)
	if strings.Contains(string(log), hotp) || strings.Contains(string(log), sha1Seed) {
		t.Fatalf("log holds a code or secret:\n%s", log)
	}
}

func tuiStep(t time.Time) int64 { return t.Unix() / 30 }

// tuiQRImage turns the half-block QR code on screen back into a PNG (4
// pixels a module, with a wide light border) for zbarimg.
func tuiQRImage(screen, path string) error {
	var rows []string
	in := false
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "Secret on screen") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if line == "" || strings.Trim(line, "█▀▄ ") != "" {
			break
		}
		rows = append(rows, line)
	}
	if len(rows) < 10 {
		return fmt.Errorf("no QR code on screen (%d rows)", len(rows))
	}
	const scale, border = 4, 4
	width := len([]rune(rows[0]))
	img := image.NewGray(image.Rect(0, 0, (width+2*border)*scale, (2*len(rows)+2*border)*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range rows {
		for x, r := range []rune(row) {
			top := r == '█' || r == '▀'
			bottom := r == '█' || r == '▄'
			for half, light := range []bool{top, bottom} {
				if light {
					continue
				}
				for dy := range scale {
					for dx := range scale {
						img.SetGray((x+border)*scale+dx, (2*y+half+border)*scale+dy, color.Gray{})
					}
				}
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return png.Encode(f, img)
}
