package main

import (
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
