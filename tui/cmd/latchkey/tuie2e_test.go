package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

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
	bin := tuiBinary(t)
	dir := t.TempDir()
	env := []string{"LATCHKEY_HOME=" + filepath.Join(dir, "home"), "LATCHKEY_STORE=file", "LATCHKEY_PASSPHRASE=correct horse battery", "NO_COLOR=1"}
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
	tt := tuiTmux(t, env, 100, 24, bin, "--log", logPath)
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
