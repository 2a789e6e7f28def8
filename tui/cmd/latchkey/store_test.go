package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/testenv"
)

// cli runs latchkey in-process with the given environment and standard
// input.
type cli struct {
	t     *testing.T
	vars  map[string]string
	stdin string
}

func newCLI(t *testing.T, vars map[string]string) *cli {
	if vars["LATCHKEY_HOME"] == "" {
		vars["LATCHKEY_HOME"] = t.TempDir()
	}
	return &cli{t: t, vars: vars}
}

var fixedNow = time.Unix(1700000000, 0)

func (c *cli) run(args ...string) (string, string, int) {
	c.t.Helper()
	var out, errb bytes.Buffer
	e := &env{getenv: func(k string) string { return c.vars[k] }, stdin: strings.NewReader(c.stdin),
		stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }}
	code := report(dispatch(context.Background(), e, args), &errb)
	c.stdin = ""
	return out.String(), errb.String(), code
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != 0 {
		c.t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
	}
	return out
}

// fails runs a command that must fail with exit and mention text on
// stderr, printing nothing on stdout.
func (c *cli) fails(exit int, mention string, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.run(args...)
	if code != exit || out != "" || !strings.Contains(errOut, mention) {
		c.t.Fatalf("%v: exit %d (want %d), stdout %q, stderr %q (want it to mention %q)", args, code, exit, out, errOut, mention)
	}
	return errOut
}

func totp(t *testing.T, b32 string, opts otp.Options, at time.Time) string {
	sec, err := otp.DecodeSecret(b32)
	if err != nil {
		t.Fatal(err)
	}
	code, err := otp.TOTPCode(sec, at, opts)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

const (
	ghSecret = "JBSWY3DPEHPK3PXP"
	glSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	rfcHOTP  = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"
)

// TestAccountCommands drives add, list --json, code QUERY, rename, rm and
// store info through dispatch, on the real Secret Service.
func TestAccountCommands(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	c := newCLI(t, map[string]string{"LATCHKEY_STORE": "keyring"})
	if out := c.ok("add", "otpauth://totp/GitHub:alice?secret="+ghSecret+"&issuer=GitHub"); !strings.HasPrefix(out, "added GitHub:alice (totp, ") {
		t.Fatalf("add: %q", out)
	}
	c.ok("add", "--secret", glSecret, "--issuer", "GitLab", "--name", "alice", "--algorithm", "sha256", "--digits", "8")
	c.stdin = rfcHOTP + "\n"
	c.ok("add", "--secret", "-", "--name", "hotp-box", "--hotp", "--counter", "1")
	c.fails(1, "GitHub:alice already exists; pass --force", "add", "otpauth://totp/GitHub:alice?secret="+ghSecret)
	c.fails(2, "--name is required", "add", "--secret", ghSecret)
	c.fails(2, "--counter goes with --hotp", "add", "--secret", ghSecret, "--name", "x", "--counter", "3")
	c.fails(2, "goes with --secret", "add", "otpauth://totp/x?secret="+ghSecret, "--digits", "8")
	c.fails(1, "secret", "add", "otpauth://totp/x?secret=!!!")
	c.fails(1, "base32", "add", "--secret", "!!!", "--name", "x")

	// list --json: codes for TOTP, none for HOTP.
	var items []map[string]any
	if err := json.Unmarshal([]byte(c.ok("list", "--json")), &items); err != nil || len(items) != 3 {
		t.Fatalf("list --json: %v %v", err, items)
	}
	gh := totp(t, ghSecret, otp.Options{}, fixedNow)
	gl := totp(t, glSecret, otp.Options{Algorithm: otp.SHA256, Digits: 8}, fixedNow)
	if items[0]["issuer"] != "GitHub" || items[0]["code"] != gh || items[0]["remaining"] != float64(10) || items[0]["type"] != "totp" {
		t.Fatalf("github item %v (want code %s, 10 s left)", items[0], gh)
	}
	if items[1]["code"] != gl || items[1]["id"] == "" || items[1]["name"] != "alice" {
		t.Fatalf("gitlab item %v", items[1])
	}
	if _, has := items[2]["code"]; has || items[2]["type"] != "hotp" || items[2]["counter"] != float64(1) {
		t.Fatalf("hotp item %v", items[2])
	}
	if out := c.ok("list"); !strings.Contains(out, "GitHub:alice") || !strings.Contains(out, otp.Group(gh)) {
		t.Fatalf("list: %q", out)
	}

	// code QUERY: exact wins, substring, none (1), ambiguous (2).
	if out := c.ok("code", "github"); out != gh+"\n" {
		t.Fatalf("code github: %q want %s", out, gh)
	}
	if out := c.ok("code", "GitLab:Alice"); out != gl+"\n" {
		t.Fatalf("code GitLab:Alice: %q", out)
	}
	if out := c.ok("code", "lab"); out != gl+"\n" {
		t.Fatalf("code lab: %q", out)
	}
	if out := c.ok("code", "github", "--at", "59"); out != totp(t, ghSecret, otp.Options{}, time.Unix(59, 0))+"\n" {
		t.Fatalf("code --at: %q", out)
	}
	c.fails(1, `no account matches "nobody"`, "code", "nobody")
	amb := c.fails(2, `"alice" matches 2 accounts`, "code", "alice")
	if !strings.Contains(amb, "GitHub:alice") || !strings.Contains(amb, "GitLab:alice") {
		t.Fatalf("candidates not listed: %q", amb)
	}
	// HOTP: each code advances the saved counter.
	for _, want := range []string{"287082", "359152"} {
		if out := c.ok("code", "hotp-box"); out != want+"\n" {
			t.Fatalf("hotp: %q want %s", out, want)
		}
	}
	json.Unmarshal([]byte(c.ok("list", "--json")), &items)
	if items[2]["counter"] != float64(3) {
		t.Fatalf("counter after two codes: %v", items[2]["counter"])
	}

	// rename.
	if out := c.ok("rename", "gitlab", "work-alice"); out != "renamed GitLab:alice to GitLab:work-alice\n" {
		t.Fatalf("rename: %q", out)
	}
	c.fails(1, "another account is already called GitHub:alice", "rename", "gitlab", "GitHub:alice")
	c.ok("code", "work-alice")

	// rm: refused without a terminal or --yes; --yes removes.
	c.fails(2, "run it on a terminal or pass --yes", "rm", "github")
	c.ok("code", "github")
	if out := c.ok("rm", "github", "--yes"); out != "removed GitHub:alice\n" {
		t.Fatalf("rm: %q", out)
	}
	c.fails(1, "no account matches", "code", "github")
	c.fails(1, "no account matches", "rm", "github", "--yes")

	if out := c.ok("store"); !strings.Contains(out, "store:    keyring") || !strings.Contains(out, "accounts: 2") {
		t.Fatalf("store info: %q", out)
	}
	c.fails(2, "not a store", "list", "--store", "floppy")
	c.fails(2, "--to keyring or --to file", "store", "migrate")
	for _, it := range items {
		c.run("rm", it["id"].(string), "--yes")
	}
}

// TestMigrateCommand moves accounts keyring -> file -> keyring through the
// CLI and the codes stay the same. Every vault access costs an scrypt at
// age's default work factor (seconds under -race), so it does few of them;
// TestStoreBinary covers the file store further.
func TestMigrateCommand(t *testing.T) {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	c := newCLI(t, map[string]string{})
	c.ok("add", "otpauth://totp/GitHub:alice?secret="+ghSecret)
	c.ok("add", "otpauth://hotp/Box:bob?secret="+rfcHOTP+"&counter=1")
	want := c.ok("code", "github")
	c.fails(1, "file store needs its passphrase", "store", "migrate", "--to", "file")
	c.vars["LATCHKEY_PASSPHRASE"] = "migrate me"
	if out := c.ok("store", "migrate", "--to", "file"); out != "moved 2 accounts from keyring to file\n" {
		t.Fatalf("migrate: %q", out)
	}
	home := c.vars["LATCHKEY_HOME"]
	if _, err := os.Stat(filepath.Join(home, "accounts.json")); !os.IsNotExist(err) {
		t.Fatal("accounts.json left after migrating to file")
	}
	if out := c.ok("code", "github"); out != want {
		t.Fatalf("code after migration %q, want %q", out, want)
	}
	c.ok("store", "migrate", "--to", "keyring")
	if _, err := os.Stat(filepath.Join(home, "vault.age")); !os.IsNotExist(err) {
		t.Fatal("vault.age left after migrating to keyring")
	}
	if out := c.ok("code", "github"); out != want {
		t.Fatalf("code after migrating back %q", out)
	}
	if out := c.ok("code", "box"); out != "287082\n" {
		t.Fatalf("hotp after migrating back %q", out)
	}
	c.ok("rm", "github", "--yes")
	c.ok("rm", "box", "--yes")
}

func TestConfirm(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, "YES\n": true, "n\n": false, "\n": false, "": false, "yes please\n": false} {
		var out bytes.Buffer
		got, _ := confirm(strings.NewReader(in), &out, "Remove X?")
		if got != want || out.String() != "Remove X? [y/N] " {
			t.Errorf("confirm(%q) = %v, prompt %q", in, got, out.String())
		}
	}
}

// TestClipboardClear runs the hidden clearer against the real X clipboard:
// it clears the code, and leaves anything the user copied since.
func TestClipboardClear(t *testing.T) {
	display := testenv.Display(t)
	xclip := testenv.Tool(t, "xclip")
	set := func(s string) {
		cmd := exec.Command(xclip, "-selection", "clipboard", "-in")
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		cmd.Stdin = strings.NewReader(s)
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
	}
	get := func() string {
		cmd := exec.Command(xclip, "-selection", "clipboard", "-out")
		cmd.Env = append(os.Environ(), "DISPLAY="+display)
		out, _ := cmd.Output()
		return string(out)
	}
	key := strings.Repeat("ab", 32)
	// HMAC-SHA256 under key of "123456".
	sum := hmacHex(t, key, "123456")
	c := newCLI(t, map[string]string{"DISPLAY": display})
	set("123456")
	c.stdin = key + " " + sum + "\n"
	c.ok("clipboard-clear", "--after", "0s")
	if got := get(); got != "" {
		t.Fatalf("not cleared: %q", got)
	}
	set("something else")
	c.stdin = key + " " + sum + "\n"
	c.ok("clipboard-clear", "--after", "0s")
	if got := get(); got != "something else" {
		t.Fatalf("cleared the user's own copy: %q", got)
	}
	c.stdin = "zz\n"
	c.fails(1, "bad ticket", "clipboard-clear", "--after", "0s")
	if out, _, _ := c.run("help"); strings.Contains(out, "clipboard-clear") {
		t.Fatal("the internal command is listed in help")
	}
}

func hmacHex(t *testing.T, keyHex, msg string) string {
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// binRun runs the binary with extra environment variables.
func binRun(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestStoreBinary runs the real binary: the one-sentence keyring error
// with D-Bus pointing nowhere, the file store end to end (a wrong
// passphrase leaves the vault byte-identical; only age ciphertext on
// disk), and --copy with the detached clearer on the real X clipboard.
func TestStoreBinary(t *testing.T) {
	bin := buildLatchkey(t)
	const sentence = "latchkey: the OS keyring is unavailable (no Secret Service, locked, or no D-Bus session); use the encrypted file store with --store file or LATCHKEY_STORE=file\n"

	t.Run("no dbus", func(t *testing.T) {
		home := t.TempDir()
		env := []string{"LATCHKEY_HOME=" + home, "LATCHKEY_STORE=", "DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(home, "no-bus")}
		for _, args := range [][]string{{"list"}, {"add", "--secret", ghSecret, "--name", "x", "--store", "keyring"}} {
			out, errOut, code := binRun(t, bin, env, args...)
			if code != 1 || out != "" || errOut != sentence {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
		}
	})

	t.Run("file store", func(t *testing.T) {
		home := t.TempDir()
		env := []string{"LATCHKEY_HOME=" + home, "LATCHKEY_STORE=file", "LATCHKEY_PASSPHRASE=binary test", "LATCHKEY_AGENT=off"} // the vault itself, not an agent
		if _, errOut, code := binRun(t, bin, env, "add", "otpauth://hotp/Box:bob?secret="+rfcHOTP+"&counter=1"); code != 0 {
			t.Fatalf("add: %d %s", code, errOut)
		}
		out, errOut, code := binRun(t, bin, env, "code", "box")
		if code != 0 || out != "287082\n" {
			t.Fatalf("code: %d %q %s", code, out, errOut)
		}
		vault := filepath.Join(home, "vault.age")
		before, err := os.ReadFile(vault)
		if err != nil {
			t.Fatal(err)
		}
		wrong := append(env, "LATCHKEY_PASSPHRASE=not it")
		for _, args := range [][]string{{"code", "box"}, {"add", "--secret", ghSecret, "--name", "x"}, {"rm", "box", "--yes"}} {
			out, errOut, code = binRun(t, bin, wrong, args...)
			if code != 1 || out != "" || errOut != "latchkey: wrong passphrase for the vault (nothing was changed)\n" {
				t.Fatalf("%v with a wrong passphrase: %d %q %q", args, code, out, errOut)
			}
		}
		if after, _ := os.ReadFile(vault); !bytes.Equal(before, after) {
			t.Fatal("a wrong passphrase changed the vault")
		}
		entries, _ := os.ReadDir(home)
		for _, e := range entries {
			data, _ := os.ReadFile(filepath.Join(home, e.Name()))
			if bytes.Contains(data, []byte(rfcHOTP)) || bytes.Contains(data, []byte("12345678901234567890")) {
				t.Fatalf("%s holds the secret", e.Name())
			}
			if e.Name() == "vault.age" && !bytes.HasPrefix(data, []byte("age-encryption.org/v1\n-> scrypt ")) {
				t.Fatal("vault.age is not age scrypt ciphertext")
			}
		}
		_, errOut, code = binRun(t, bin, env, "rm", "box")
		if code != 2 || !strings.Contains(errOut, "--yes") {
			t.Fatalf("rm without a terminal: %d %q", code, errOut)
		}
	})

	// On the keyring a HOTP counter moves once per code, and an item
	// deleted behind Latchkey's back is reported in one line.
	t.Run("keyring", func(t *testing.T) {
		testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
		secretTool := testenv.Tool(t, "secret-tool")
		home := t.TempDir()
		env := []string{"LATCHKEY_HOME=" + home, "LATCHKEY_STORE=keyring"}
		for _, uri := range []string{"otpauth://hotp/Kr:hotp?secret=" + rfcHOTP + "&counter=1", "otpauth://totp/Kr:gone?secret=" + ghSecret} {
			if _, errOut, code := binRun(t, bin, env, "add", uri); code != 0 {
				t.Fatalf("add: %d %s", code, errOut)
			}
		}
		defer binRun(t, bin, env, "rm", "kr:hotp", "--yes")
		for _, want := range []string{"287082\n", "359152\n"} { // RFC 4226 counters 1, 2
			if out, errOut, code := binRun(t, bin, env, "code", "kr:hotp"); code != 0 || out != want {
				t.Fatalf("code: %d %q %q, want %q", code, out, errOut, want)
			}
		}
		out, _, _ := binRun(t, bin, env, "list", "--json")
		var items []struct{ ID, Name string }
		if err := json.Unmarshal([]byte(out), &items); err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.Name == "gone" {
				if out, err := exec.Command(secretTool, "clear", "service", "latchkey", "username", it.ID).CombinedOutput(); err != nil {
					t.Fatalf("secret-tool clear: %v %s", err, out)
				}
			}
		}
		out, errOut, code := binRun(t, bin, env, "code", "kr:gone")
		if code != 1 || out != "" || !strings.Contains(errOut, "the keyring has no secret for this account") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("code of an item deleted behind latchkey: %d %q %q", code, out, errOut)
		}
		binRun(t, bin, env, "rm", "kr:gone", "--yes")
	})

	t.Run("copy", func(t *testing.T) {
		display := testenv.Display(t)
		xclip := testenv.Tool(t, "xclip")
		testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
		home := t.TempDir()
		env := []string{"LATCHKEY_HOME=" + home, "LATCHKEY_STORE=keyring", "DISPLAY=" + display,
			"LATCHKEY_CLIPBOARD_CLEAR=1", "SSH_CONNECTION=", "SSH_TTY=", "SSH_CLIENT=", "WAYLAND_DISPLAY="}
		binRun(t, bin, env, "add", "--secret", ghSecret, "--issuer", "Copy", "--name", "me")
		defer binRun(t, bin, env, "rm", "copy", "--yes")
		out, errOut, code := binRun(t, bin, env, "code", "copy", "--copy")
		if code != 0 || out != "" || !strings.Contains(errOut, "copied the code for Copy:me (xclip)") {
			t.Fatalf("code --copy: %d %q %q", code, out, errOut)
		}
		clip := func() string {
			cmd := exec.Command(xclip, "-selection", "clipboard", "-out")
			cmd.Env = append(os.Environ(), "DISPLAY="+display)
			b, _ := cmd.Output()
			return string(b)
		}
		got := clip()
		if len(got) != 6 || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("clipboard holds %q, want a code", got)
		}
		// The detached clearer empties it after LATCHKEY_CLIPBOARD_CLEAR
		// seconds; wait for that process, polling the clipboard.
		deadline := time.Now().Add(20 * time.Second)
		for clip() != "" {
			if time.Now().After(deadline) {
				t.Fatal("the clipboard was not cleared")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// TestTerminalPrompts runs the binary on a real terminal (tmux): rm asks
// and removes on "y"; the file store asks for its passphrase (twice for a
// new vault) when LATCHKEY_PASSPHRASE is not set.
func TestTerminalPrompts(t *testing.T) {
	tmux := testenv.Tool(t, "tmux")
	bin := buildLatchkey(t)
	home := t.TempDir()
	sock := fmt.Sprintf("latchkey-store-%d", os.Getpid())
	tm := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-L", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v %s", args, err, out)
		}
		return string(out)
	}
	defer exec.Command(tmux, "-L", sock, "kill-server").Run()
	script := fmt.Sprintf("cd %s && export LATCHKEY_HOME=%s LATCHKEY_STORE=file LATCHKEY_AGENT=off; "+
		"%s add --secret %s --issuer Tty --name acct; echo ADD=$?; "+
		"%s code tty; echo CODE=$?; "+
		"%s rm tty; echo RM=$?; sleep 60", home, home, bin, ghSecret, bin, bin)
	tm("new-session", "-d", "-x", "150", "-y", "30", "sh", "-c", script)
	screen := func() string { return tm("capture-pane", "-p", "-J") }
	waitFor := func(text string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(screen(), text) {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %q; screen:\n%s", text, screen())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	typeLine := func(s string) {
		t.Helper()
		tm("send-keys", "-l", s)
		time.Sleep(50 * time.Millisecond)
		tm("send-keys", "Enter")
	}
	waitFor("New vault passphrase:")
	typeLine("tty pass")
	waitFor("Again:")
	typeLine("tty pass")
	waitFor("ADD=0")
	// The passphrase is asked for once per command.
	waitFor("Vault passphrase:")
	typeLine("tty pass")
	waitFor("CODE=0")
	if before, _, _ := strings.Cut(screen(), "CODE=0"); strings.Count(before, "Vault passphrase:") != 1 {
		t.Fatalf("the passphrase was not asked for once:\n%s", before)
	}
	waitFor("Vault passphrase:")
	typeLine("tty pass")
	waitFor("Remove Tty:acct and its secret?")
	typeLine("y")
	waitFor("RM=0")
	if s := screen(); !strings.Contains(s, "removed Tty:acct") || strings.Contains(s, "tty pass") {
		t.Fatalf("screen:\n%s", s)
	}
}
