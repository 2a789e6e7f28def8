package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestImportOtherApps imports the exports of other authenticators and
// password managers: core/transfer's fixtures, which its tests write from
// each format's public description (the password of the encrypted ones
// is "fixture password"). The format is detected; logins without a
// one-time code are counted, not an error.
func TestImportOtherApps(t *testing.T) {
	tests := []struct{ file, summary string }{
		{"andotp-plain.json", "added 3, skipped 0 (already present), unsupported 0\n"},
		{"andotp-encrypted.json.aes", "added 3, skipped 0 (already present), unsupported 0\n"},
		{"freeotp-plus.json", "added 3, skipped 0 (already present), unsupported 0\n"},
		{"authenticator-pro.json", "added 3, skipped 0 (already present), unsupported 1\n"},
		{"ente-auth.txt", "added 3, skipped 0 (already present), unsupported 1\n"},
		{"bitwarden.json", "added 3, skipped 0 (already present), unsupported 1, logins without a one-time code 2\n"},
		{"bitwarden.csv", "added 3, skipped 0 (already present), unsupported 1, logins without a one-time code 2\n"},
		{"protonpass.json", "added 3, skipped 0 (already present), unsupported 1, logins without a one-time code 1\n"},
		{"protonpass.csv", "added 2, skipped 0 (already present), unsupported 0, logins without a one-time code 1\n"},
		{"keepassxc.csv", "added 3, skipped 0 (already present), unsupported 1, logins without a one-time code 1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			vars := keyringStore(t)
			vars["LATCHKEY_IMPORT_PASSPHRASE"] = "fixture password"
			path := filepath.Join("..", "..", "..", "core", "transfer", "testdata", tt.file)
			out, errOut, code := run1(t, vars, "", importCommand(), path)
			if code != 0 || out != tt.summary {
				t.Fatalf("exit %d, %q (want %q); stderr %q", code, out, tt.summary, errOut)
			}
			if got := strings.Join(uriSet(t, vars), "\n"); !strings.Contains(got, "Bank:carol") {
				t.Fatalf("the store lacks Bank:carol:\n%s", got)
			}
		})
	}
}

// A wrong password for an encrypted andOTP backup: a clear error and the
// store as it was.
func TestImportAndOTPWrongPassword(t *testing.T) {
	vars := keyringStore(t)
	if _, errOut, code := run1(t, vars, "", importCommand(), writeFile(t, "a.txt", importList)); code != 0 {
		t.Fatal(errOut)
	}
	before := uriSet(t, vars)
	vars["LATCHKEY_IMPORT_PASSPHRASE"] = "not it"
	path := filepath.Join("..", "..", "..", "core", "transfer", "testdata", "andotp-encrypted.json.aes")
	_, errOut, code := run1(t, vars, "", importCommand(), path)
	if code != 1 || !strings.Contains(errOut, "andotp-encrypted.json.aes: andotp: wrong password") {
		t.Fatalf("exit %d, %q", code, errOut)
	}
	if after := uriSet(t, vars); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("the store changed:\n%s", strings.Join(after, "\n"))
	}
	// Without a terminal or the variable, it says how to give one.
	delete(vars, "LATCHKEY_IMPORT_PASSPHRASE")
	_, errOut, code = run1(t, vars, "", importCommand(), "--format", "andotp", path)
	if code != 1 || !strings.Contains(errOut, "LATCHKEY_IMPORT_PASSPHRASE") {
		t.Fatalf("no password: exit %d, %q", code, errOut)
	}
}
