package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/store"
	"latchkey/server"
)

// enrollServer runs a real server (SQLite) and returns an admin client.
func enrollServer(t *testing.T) enroll.Admin {
	t.Helper()
	st, err := server.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := server.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	kr, err := server.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{Store: st, Keyring: kr, AdminToken: "cli-test-token-0123456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); s.Close(); st.Close() })
	return enroll.Admin{Server: hs.URL, Token: "cli-test-token-0123456789abcdef"}
}

// TestEnrollCommand redeems a link through the CLI against a running
// server: the account is stored (listed afterwards by the store), the
// credential is verified, and a second run is refused without a trace.
func TestEnrollCommand(t *testing.T) {
	ctx := context.Background()
	adm := enrollServer(t)
	c, err := adm.Create(ctx, "alice@example.com", "CLI")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	vars := map[string]string{"LATCHKEY_HOME": home, "LATCHKEY_STORE": "file", "LATCHKEY_PASSPHRASE": "correct horse"}
	runCLI := func(stdin string, args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		e := &env{getenv: func(k string) string { return vars[k] }, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, now: time.Now}
		code := report(dispatch(ctx, e, args), &errb)
		return out.String(), errb.String(), code
	}
	out, errOut, code := runCLI(c.EnrollmentLink+"\n", "enroll", "-")
	if code != 0 || !strings.Contains(out, "enrolled Latchkey:alice@example.com") {
		t.Fatalf("enroll: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	cs, err := adm.Credentials(ctx, "alice@example.com")
	if err != nil || len(cs) != 1 || !cs[0].Verified {
		t.Fatalf("credentials after enroll: %+v, %v", cs, err)
	}
	out, errOut, code = runCLI("", "enroll", c.EnrollmentLink)
	if code != 1 || out != "" || !strings.Contains(errOut, "invalid, expired or already used") {
		t.Errorf("second enroll: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if strings.Contains(errOut, c.EnrollmentLink[strings.Index(c.EnrollmentLink, "#")+1:]) {
		t.Error("the error repeats the token")
	}
	// A wrong token and a malformed link: the same words, exit 1.
	bad := c.EnrollmentLink[:len(c.EnrollmentLink)-3] + "AAA"
	for _, link := range []string{bad, "https://example.com/enroll#short"} {
		if _, errOut, code := runCLI("", "enroll", link); code != 1 || !strings.Contains(errOut, "invalid, expired or already used") {
			t.Errorf("enroll %q: exit %d, stderr %q", link, code, errOut)
		}
	}
	if _, _, code := runCLI("", "enroll"); code != 2 {
		t.Errorf("no link: exit %d, want 2", code)
	}
	// The account is in the store, under the name the server gave.
	st, err := store.Open(ctx, store.Options{Home: home, Backend: store.File,
		Passphrase: func() ([]byte, error) { return []byte("correct horse"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	as, err := st.List(ctx)
	if err != nil || len(as) != 1 || as[0].Label() != "Latchkey:alice@example.com" {
		t.Errorf("stored accounts: %+v, %v", as, err)
	}
}
