package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"latchkey/core/testenv"
)

// newUser is where a new user starts on a host with no keyring: an empty
// LATCHKEY_HOME, nothing chosen, and D-Bus pointing at a missing socket.
func newUser(t *testing.T) (home string, env []string) {
	t.Helper()
	home = filepath.Join(t.TempDir(), "home")
	return home, []string{"LATCHKEY_HOME=" + home, "LATCHKEY_STORE=", "LATCHKEY_PASSPHRASE=", "NO_COLOR=1",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus")}
}

// text types s one character at a time (send-keys -l, so that nothing is
// read as a key name), pausing after each like key.
func (tt *tuiTerm) text(s string) {
	tt.tb.Helper()
	for _, r := range s {
		if out, err := exec.Command(tt.tmux, "-L", tt.socket, "send-keys", "-l", string(r)).CombinedOutput(); err != nil {
			tt.tb.Fatalf("send-keys -l %q: %v\n%s", r, err, out)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func (tt *tuiTerm) waitText(what, text string) string {
	tt.tb.Helper()
	return tt.waitFor(what, 20*time.Second, func(s string) bool { return strings.Contains(flat(s), text) })
}

func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// addFirstAccount adds ACME:carol through the UI's form on a store with
// no vault yet: the UI asks for a new passphrase twice, then adds.
func addFirstAccount(t *testing.T, tt *tuiTerm, passphrase string) {
	t.Helper()
	tt.key("a")
	tt.waitText("the add form", "Add an account")
	for _, f := range []string{"ACME", "carol", ghSecret} {
		tt.key("Tab")
		tt.text(f)
	}
	tt.key("Enter")
	tt.waitText("the new vault's passphrase", "Create the file store")
	tt.text(passphrase)
	tt.key("Enter")
	tt.waitText("the confirmation", "Type the passphrase again")
	tt.text(passphrase)
	tt.key("Enter")
	s := tt.waitText("the account", "Added ACME:carol.")
	if !strings.Contains(s, "1 account · file store") || strings.Contains(s, passphrase) {
		t.Fatalf("after adding:\n%s", s)
	}
}

// quit presses q and waits for the UI to end.
func (tt *tuiTerm) quit(t *testing.T) {
	t.Helper()
	tt.key("q")
	deadline := time.Now().Add(5 * time.Second)
	for tt.alive() {
		if time.Now().After(deadline) {
			t.Fatalf("still running after q:\n%s", tt.screen())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkStored reads ACME:carol back with the passphrase, as a script
// would: the vault was created with it and the file store is remembered.
func checkStored(t *testing.T, bin string, env []string, passphrase string) {
	t.Helper()
	before := time.Now()
	out, errOut, code := binRun(t, bin, append(env, "LATCHKEY_PASSPHRASE="+passphrase), "code", "carol")
	w1 := tuiOathtool(t, "--totp", "-b", ghSecret, "--now=@"+strconv.FormatInt(before.Unix(), 10))
	w2 := tuiOathtool(t, "--totp", "-b", ghSecret)
	if code != 0 || (out != w1+"\n" && out != w2+"\n") {
		t.Fatalf("latchkey code carol: exit %d, %q (oathtool %s), %s", code, out, w2, errOut)
	}
	out, _, _ = binRun(t, bin, append(env, "LATCHKEY_PASSPHRASE="+passphrase), "store")
	if !strings.Contains(out, "store:    file") || !strings.Contains(out, "accounts: 1") {
		t.Fatalf("latchkey store:\n%s", out)
	}
}

// TestTUIFirstRunFileStore is issue 14's "TUI cannot add to a fresh file
// store", in the real binary: with LATCHKEY_STORE=file and no vault, the
// first add asks for a new passphrase (twice) and adds.
func TestTUIFirstRunFileStore(t *testing.T) {
	testenv.Tool(t, "tmux")
	testenv.Tool(t, "oathtool")
	bin := buildLatchkey(t)
	_, env := newUser(t)
	env = append(env, "LATCHKEY_STORE=file")
	tt := tuiTmux(t, env, 100, 30, bin)
	tt.waitText("the empty list", "0 accounts · file store")
	addFirstAccount(t, tt, "first run pw")
	tt.quit(t)
	checkStored(t, bin, env, "first run pw")
}

// TestTUIFirstRunNoKeyring is issue 14's "no automatic fallback", in the
// real binary: with no keyring and nothing chosen, the UI offers the file
// store, and y leads to a working vault that is remembered.
func TestTUIFirstRunNoKeyring(t *testing.T) {
	testenv.Tool(t, "tmux")
	testenv.Tool(t, "oathtool")
	bin := buildLatchkey(t)
	_, env := newUser(t)
	tt := tuiTmux(t, env, 100, 30, bin)
	tt.waitText("the offer", "Keep your accounts in an encrypted file instead?")
	tt.key("y")
	tt.waitText("the empty list", "0 accounts · file store")
	addFirstAccount(t, tt, "no keyring pw")
	tt.quit(t)
	checkStored(t, bin, env, "no keyring pw")
}

// TestCLIFirstRunNoKeyring is issue 14's "no automatic fallback" for the
// commands: on a terminal with no keyring, "latchkey add" asks whether to
// use the file store, then asks for the new vault's passphrase twice; n
// leaves the one-sentence error and remembers nothing. (In a script the
// sentence alone is the answer: TestStoreBinary.)
func TestCLIFirstRunNoKeyring(t *testing.T) {
	testenv.Tool(t, "tmux")
	testenv.Tool(t, "oathtool")
	bin := buildLatchkey(t)
	shell := func(cmd string) []string {
		return []string{"sh", "-c", cmd + `; echo "EXIT=$?"; sleep 60`}
	}
	add := bin + " add --issuer ACME --name carol --secret " + ghSecret
	const question = "The OS keyring is unavailable"

	t.Run("yes", func(t *testing.T) {
		home, env := newUser(t)
		tt := tuiTmux(t, env, 200, 30, shell(add)...)
		s := tt.waitText("the question", "[y/N]")
		if !strings.Contains(flat(s), question) || !strings.Contains(s, "LATCHKEY_STORE=file") {
			t.Fatalf("question:\n%s", s)
		}
		tt.key("y")
		tt.key("Enter")
		tt.waitText("the passphrase prompt", "New vault passphrase:")
		tt.text("cli pw")
		tt.key("Enter")
		tt.waitText("the confirmation", "Again:")
		tt.text("cli pw")
		tt.key("Enter")
		s = tt.waitText("the exit", "EXIT=")
		if !strings.Contains(s, "EXIT=0") || !strings.Contains(s, "added ACME:carol") || strings.Contains(s, "cli pw") {
			t.Fatalf("screen:\n%s", s)
		}
		if _, err := os.Stat(filepath.Join(home, "vault.age")); err != nil {
			t.Fatal(err)
		}
		checkStored(t, bin, env, "cli pw")
	})
	t.Run("no", func(t *testing.T) {
		home, env := newUser(t)
		tt := tuiTmux(t, env, 200, 30, shell(add)...)
		tt.waitText("the question", "[y/N]")
		tt.key("n")
		tt.key("Enter")
		s := tt.waitText("the exit", "EXIT=")
		if !strings.Contains(s, "EXIT=1") || !strings.Contains(flat(s), "use the encrypted file store with --store file or LATCHKEY_STORE=file") {
			t.Fatalf("screen:\n%s", s)
		}
		if _, err := os.Stat(filepath.Join(home, "config.json")); !os.IsNotExist(err) {
			t.Fatalf("a refused offer remembered a store: %v", err)
		}
	})
}
