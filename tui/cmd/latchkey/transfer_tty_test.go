package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTransferAsksOnTerminal runs the real binary on a terminal (tmux):
// plain-text exports and qr ask before showing secrets, honour the
// answer, and migration QR codes are drawn one after another.
func TestTransferAsksOnTerminal(t *testing.T) {
	vars := keyringStore(t)
	bin := buildLatchkey(t)
	var env []string
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	imp := exec.Command(bin, "import", writeFile(t, "a.txt", importList))
	imp.Env = append(os.Environ(), env...)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	dir := t.TempDir()
	shell := func(cmd string) []string {
		return []string{"sh", "-c", cmd + `; echo "EXIT=$?"; sleep 60`}
	}
	ask := "[y/N]"

	t.Run("export yes", func(t *testing.T) {
		out := filepath.Join(dir, "yes.txt")
		tt := tuiTmux(t, env, 100, 40, shell(bin+" export --format uris -o "+out)...)
		tt.waitFor("the question", 20*time.Second, func(s string) bool { return strings.Contains(s, ask) })
		tt.key("y")
		tt.key("Enter")
		tt.waitFor("exit 0", 20*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=0") })
		st, err := os.Stat(out)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%v %v", st, err)
		}
		data, _ := os.ReadFile(out)
		if strings.Count(string(data), "otpauth://") != 3 {
			t.Fatalf("export holds %q", data)
		}
	})
	t.Run("export no", func(t *testing.T) {
		out := filepath.Join(dir, "no.txt")
		tt := tuiTmux(t, env, 100, 40, shell(bin+" export --format aegis -o "+out)...)
		tt.waitFor("the question", 20*time.Second, func(s string) bool { return strings.Contains(s, ask) })
		tt.key("n")
		tt.key("Enter")
		s := tt.waitFor("exit 1", 20*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=1") })
		if !strings.Contains(s, "cancelled; nothing was written") {
			t.Fatalf("screen:\n%s", s)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("a cancelled export wrote its file")
		}
	})
	t.Run("migration on the terminal", func(t *testing.T) {
		tt := tuiTmux(t, env, 120, 60, shell(bin+" export --format migration")...)
		tt.waitFor("the question", 20*time.Second, func(s string) bool { return strings.Contains(s, ask) })
		tt.key("y")
		tt.key("Enter")
		s := tt.waitFor("the QR code", 20*time.Second, func(s string) bool { return strings.Contains(s, "QR code 1 of 1") })
		if strings.Count(s, "▀") < 400 {
			t.Fatalf("no QR drawn:\n%s", s)
		}
		tt.key("Enter")
		tt.waitFor("exit 0", 20*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=0") })
	})
	t.Run("qr", func(t *testing.T) {
		tt := tuiTmux(t, env, 120, 60, shell(bin+" qr github")...)
		s := tt.waitFor("the question", 20*time.Second, func(s string) bool { return strings.Contains(s, ask) })
		if !strings.Contains(s, "GitHub:alice@example.com") || strings.Contains(s, "▀") {
			t.Fatalf("screen before the answer:\n%s", s)
		}
		tt.key("y")
		tt.key("Enter")
		s = tt.waitFor("exit 0", 20*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=0") })
		if strings.Count(s, "▀") < 400 {
			t.Fatalf("no QR drawn:\n%s", s)
		}
	})
}

// TestPassphrasePromptInterrupt presses Ctrl-C at the vault's passphrase
// prompt of `latchkey code` (a quick command, which does not catch
// signals otherwise): the process ends with status 130 and the terminal
// echoes again.
func TestPassphrasePromptInterrupt(t *testing.T) {
	bin := buildLatchkey(t)
	home := t.TempDir()
	env := []string{"LATCHKEY_HOME=" + home, "LATCHKEY_STORE=file"}
	if _, errOut, code := binRun(t, bin, append(env, "LATCHKEY_PASSPHRASE=pw"), "add", "--secret", "JBSWY3DPEHPK3PXP", "--name", "alice"); code != 0 {
		t.Fatalf("add: exit %d: %s", code, errOut)
	}
	tt := tuiTmux(t, env, 100, 20, "sh", "-c", `trap true INT; `+bin+` code alice; echo "EXIT=$?"; stty -a | tr ' ' '\n' | grep -x -e echo -e -echo; sleep 60`)
	tt.waitFor("the prompt", 20*time.Second, func(s string) bool { return strings.Contains(s, "Vault passphrase:") })
	tt.key("C-c")
	tt.waitFor("the exit", 20*time.Second, func(s string) bool { return strings.Contains(s, "EXIT=") })
	s := tt.waitFor("stty", 5*time.Second, func(s string) bool { return strings.Contains(s, "echo\n") })
	if !strings.Contains(s, "EXIT=130") || strings.Contains(s, "-echo") {
		t.Fatalf("screen:\n%s", s)
	}
}
