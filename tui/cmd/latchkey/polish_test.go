package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestShortSecrets: add follows core's one rule (otp.CheckSecret): under
// 80 bits refused, under 128 added with a warning, in the same words
// whether the secret comes in a URI or with --secret.
func TestShortSecrets(t *testing.T) {
	c := newCLI(t, map[string]string{"LATCHKEY_STORE": "file", "LATCHKEY_PASSPHRASE": "pw"})
	const refused = "the secret is too short: 64 bits, at least 80 needed"
	c.fails(1, refused, "add", "--secret", "JBSWY3DPEHPK3", "--name", "short")
	c.fails(1, refused, "add", "otpauth://totp/short?secret=JBSWY3DPEHPK3")
	if _, errOut, code := c.run("add", "otpauth://totp/short?secret=JBSWY3DPEHPK3"); code == 0 || strings.Count(errOut, "64 bits") != 1 {
		t.Fatalf("exit %d, the refusal not said once: %q", code, errOut)
	}
	const warned = "latchkey: warning: the secret is only 80 bits; 128 or more is recommended (RFC 4226)\n"
	for _, args := range [][]string{
		{"add", "--secret", ghSecret, "--name", "eighty"},
		{"add", "otpauth://totp/eighty-uri?secret=" + ghSecret},
	} {
		out, errOut, code := c.run(args...)
		if code != 0 || errOut != warned || !strings.HasPrefix(out, "added ") {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q, want the warning", args, code, out, errOut)
		}
	}
	if _, errOut, code := c.run("add", "--secret", glSecret, "--name", "long"); code != 0 || errOut != "" {
		t.Fatalf("a 160-bit secret: exit %d, stderr %q", code, errOut)
	}
}

// TestGlobalFlagsBeforeCommand: --store before the command works for
// every command, as after it; --log (the TUI's) says where it goes.
func TestGlobalFlagsBeforeCommand(t *testing.T) {
	c := newCLI(t, map[string]string{"LATCHKEY_PASSPHRASE": "pw"})
	c.ok("--store", "file", "add", "--secret", glSecret, "--name", "before")
	if out := c.ok("--store=file", "list"); !strings.Contains(out, "before") {
		t.Fatalf("list: %q", out)
	}
	if out := c.ok("-store", "file", "store", "info"); !strings.Contains(out, "file") {
		t.Fatalf("store info: %q", out)
	}
	c.ok("--store", "file", "rename", "before", "after")
	if out := c.ok("list", "--store", "file"); !strings.Contains(out, "after") {
		t.Fatalf("list: %q", out)
	}
	c.fails(2, "--log", "--log", "x.log", "list")
	c.fails(2, `unknown command "nope"`, "--store", "file", "nope")
}

// TestStoreErrorPrefixOnce: a store error already naming the command is
// not prefixed again ("add: add: passphrase: ...").
func TestStoreErrorPrefixOnce(t *testing.T) {
	err := storeErrorIn("add", fmt.Errorf("store: add: %w", fmt.Errorf("passphrase: %w", errors.New("the passphrases differ"))))
	if got, want := err.Error(), "add: passphrase: the passphrases differ"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	err = storeErrorIn("rm", errors.New("store: delete x: gone"))
	if got, want := err.Error(), "rm: delete x: gone"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}
