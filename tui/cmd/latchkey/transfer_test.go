package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"latchkey/core/otpauth"
	"latchkey/core/qr"
	"latchkey/core/testenv"
)

// run1 runs one command in-process with the given environment and
// standard input.
func run1(t *testing.T, vars map[string]string, stdin string, c command, args ...string) (string, string, int) {
	t.Helper()
	return runEnv(t, vars, stdin, 0, c, args...)
}

// runEnv is run1 with backups at scrypt work factor wf (0: age's 18).
func runEnv(t *testing.T, vars map[string]string, stdin string, wf int, c command, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{getenv: func(k string) string { return vars[k] }, stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		now: func() time.Time { return time.Unix(1700000000, 0) }, backupWorkFactor: wf}
	code := report(c.run(context.Background(), e, args), &errb)
	return out.String(), errb.String(), code
}

// keyringStore is a fresh store on the real Secret Service that `make
// test` provides (the file store's scrypt would make these tests slow).
func keyringStore(t *testing.T) map[string]string {
	testenv.Env(t, "LATCHKEY_TEST_SECRET_SERVICE")
	return map[string]string{"LATCHKEY_HOME": t.TempDir(), "LATCHKEY_STORE": "keyring"}
}

const importList = `# three accounts
otpauth://totp/GitHub:alice@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=GitHub
otpauth://hotp/Bank:carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=42&algorithm=SHA512&digits=8

otpauth://totp/ACME%20Co:bob?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&period=60&algorithm=SHA256
`

// uriSet exports the store as URIs and returns them sorted, the store's
// content in a comparable form.
func uriSet(t *testing.T, vars map[string]string) []string {
	t.Helper()
	out, errOut, code := run1(t, vars, "", exportCommand(), "--format", "uris", "--yes")
	if code != 0 {
		t.Fatalf("export uris: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	slices.Sort(lines)
	return lines
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImportExportCLI(t *testing.T) {
	vars := keyringStore(t)
	list := writeFile(t, "accounts.txt", importList)

	out, errOut, code := run1(t, vars, "", importCommand(), list)
	if code != 0 || out != "added 3, skipped 0 (already present), unsupported 0\n" {
		t.Fatalf("import: exit %d, %q %q", code, out, errOut)
	}
	want := uriSet(t, vars)
	if len(want) != 3 {
		t.Fatalf("%d accounts", len(want))
	}

	// Again from standard input: all skipped.
	out, _, code = run1(t, vars, importList, importCommand(), "-")
	if code != 0 || !strings.HasPrefix(out, "added 0, skipped 3") {
		t.Fatalf("re-import: exit %d, %q", code, out)
	}

	// A bad entry: nothing added, the error names the file and the line.
	bad := writeFile(t, "bad.txt", "otpauth://totp/New:one?secret=JBSWY3DPEHPK3PXP\notpauth://totp/New:two?secret=JBSWY3DPEHPK3PXP&digits=12\n")
	_, errOut, code = run1(t, vars, "", importCommand(), bad)
	if code != 1 || !strings.Contains(errOut, "bad.txt: line 2: invalid otpauth URI: digits") {
		t.Fatalf("bad import: exit %d, %q", code, errOut)
	}
	if got := uriSet(t, vars); !slices.Equal(got, want) {
		t.Fatal("a failed import changed the store")
	}

	// Plain-text export needs --yes without a terminal, and -o is 0600.
	_, errOut, code = run1(t, vars, "", exportCommand(), "--format", "aegis")
	if code != 1 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("export without --yes: exit %d, %q", code, errOut)
	}
	aegis := filepath.Join(t.TempDir(), "aegis.json")
	if _, errOut, code = run1(t, vars, "", exportCommand(), "--format", "aegis", "-o", aegis, "--yes"); code != 0 {
		t.Fatalf("export aegis: %s", errOut)
	}
	if st, err := os.Stat(aegis); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("aegis file: %v %v", st.Mode(), err)
	}

	// Round trips through every format into fresh stores.
	qrDir := filepath.Join(t.TempDir(), "qr")
	out, errOut, code = run1(t, vars, "", exportCommand(), "--format", "migration", "--qr", qrDir, "--yes")
	if code != 0 {
		t.Fatalf("export migration: %s", errOut)
	}
	pngs := strings.Fields(out)
	if !strings.Contains(errOut, "not exported: ACME Co:bob: Google Authenticator exports carry a 30-second period") {
		t.Fatalf("migration export did not report the skipped account: %q", errOut)
	}
	migration, _, _ := run1(t, vars, "", exportCommand(), "--format", "migration", "--yes")
	backup := filepath.Join(t.TempDir(), "latchkey.age")
	vars["LATCHKEY_BACKUP_PASSPHRASE"] = "backup pass"
	// Work factor 10: age's 18 takes a minute under -race.
	if _, errOut, code = runEnv(t, vars, "", 10, exportCommand(), "--format", "backup", "-o", backup); code != 0 {
		t.Fatalf("export backup: %s", errOut)
	}
	inputs := map[string][]string{
		"aegis":         {aegis},
		"migration qr":  pngs,
		"migration uri": {writeFile(t, "m.txt", migration)},
		"backup":        {backup},
	}
	for name, files := range inputs {
		t.Run(name, func(t *testing.T) {
			fresh := keyringStore(t)
			fresh["LATCHKEY_IMPORT_PASSPHRASE"] = "backup pass"
			out, errOut, code := run1(t, fresh, "", importCommand(), files...)
			wantHere := want
			if strings.HasPrefix(name, "migration") {
				// Google Authenticator exports have no period field, so
				// the 60-second ACME account was left out (and said so).
				wantHere = slices.DeleteFunc(slices.Clone(want), func(u string) bool { return strings.Contains(u, "ACME") })
			}
			if code != 0 || !strings.HasPrefix(out, fmt.Sprintf("added %d,", len(wantHere))) {
				t.Fatalf("exit %d, %q %q", code, out, errOut)
			}
			if got := uriSet(t, fresh); !slices.Equal(got, wantHere) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantHere, "\n"))
			}
		})
	}

	// A wrong backup password: a clear error and nothing added.
	fresh := keyringStore(t)
	fresh["LATCHKEY_IMPORT_PASSPHRASE"] = "not it"
	_, errOut, code = run1(t, fresh, "", importCommand(), backup)
	if code != 1 || !strings.Contains(errOut, "latchkey.age: backup: wrong password") {
		t.Fatalf("wrong password: exit %d, %q", code, errOut)
	}
}

func TestQRCommand(t *testing.T) {
	vars := keyringStore(t)
	if _, errOut, code := run1(t, vars, "", importCommand(), writeFile(t, "a.txt", importList)); code != 0 {
		t.Fatal(errOut)
	}
	_, errOut, code := run1(t, vars, "", qrCommand(), "github")
	if code != 1 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("without --yes: exit %d, %q", code, errOut)
	}
	png := filepath.Join(t.TempDir(), "github.png")
	if _, errOut, code = run1(t, vars, "", qrCommand(), "github", "-o", png, "--yes"); code != 0 {
		t.Fatal(errOut)
	}
	data, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := qr.Decode(data)
	if err != nil || len(texts) != 1 {
		t.Fatalf("decode: %v", err)
	}
	k, err := otpauth.Parse(texts[0])
	if err != nil || k.Label() != "GitHub:alice@example.com" || k.Secret.Base32() != "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" {
		t.Fatalf("qr holds %v, %v", k, err)
	}
	out, _, code := run1(t, vars, "", qrCommand(), "bank", "--yes")
	if code != 0 || !strings.Contains(out, "▀") || !strings.HasSuffix(out, "Bank:carol\n") {
		t.Fatalf("terminal: exit %d", code)
	}
}

// TestShowQRs draws migration batches one after another, as on a
// terminal, and each drawing scans.
func TestShowQRs(t *testing.T) {
	uris := []string{"otpauth-migration://offline?data=CgA%3D", "otpauth-migration://offline?data=CgE%3D"}
	var out bytes.Buffer
	e := &env{stdin: strings.NewReader("\n\n"), stdout: &out}
	if err := showQRs(e, uris); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "QR code 1 of 2") || !strings.Contains(s, "QR code 2 of 2") || !strings.Contains(s, "Press Enter when done") {
		t.Fatalf("output %q", s)
	}
	if strings.Count(s, "▀") < 2*21*11 {
		t.Fatal("no QR drawn")
	}
}

func TestImportUsage(t *testing.T) {
	vars := map[string]string{"LATCHKEY_HOME": t.TempDir()}
	tests := []struct {
		args     []string
		exit     int
		mentions string
	}{
		{nil, 2, "name a FILE"},
		{[]string{"--format", "keepass", "x"}, 2, "--format"},
		{[]string{filepath.Join(t.TempDir(), "missing.txt")}, 1, "no such file"},
	}
	for _, tt := range tests {
		_, errOut, code := run1(t, vars, "", importCommand(), tt.args...)
		if code != tt.exit || !strings.Contains(errOut, tt.mentions) {
			t.Errorf("%v: exit %d, %q", tt.args, code, errOut)
		}
	}
	// Unrecognized content fails before the store is opened.
	_, errOut, code := run1(t, vars, "hello world\n", importCommand(), "-")
	if code != 1 || !strings.Contains(errOut, "standard input: unrecognized import format") {
		t.Errorf("exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{{}, {"--format", "csv"}, {"--format", "aegis", "--qr", "d"}} {
		if _, _, code := run1(t, vars, "", exportCommand(), args...); code != 2 {
			t.Errorf("export %v: exit %d", args, code)
		}
	}
}

func TestImportReportsUnsupportedAndRenames(t *testing.T) {
	vars := keyringStore(t)
	if _, errOut, code := run1(t, vars, "", importCommand(), writeFile(t, "a.txt", importList)); code != 0 {
		t.Fatal(errOut)
	}
	twofas := writeFile(t, "backup.2fas", `{"schemaVersion": 4, "services": [
	  {"name": "GitHub", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "otp": {"account": "alice@example.com", "tokenType": "TOTP"}},
	  {"name": "Steam", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "otp": {"account": "gamer", "digits": 5, "tokenType": "STEAM"}},
	  {"name": "New", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "otp": {"account": "dave"}},
	  {"name": "Yandex", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "otp": {"account": "y", "tokenType": "YAOTP"}}]}`)

	out, errOut, code := run1(t, vars, "", importCommand(), "--dry-run", twofas)
	if code != 0 || out != "would add GitHub:alice@example.com (2)\nwould add Steam:gamer\nwould add New:dave\ndry run: added 3, skipped 0 (already present), unsupported 1\n" {
		t.Fatalf("dry run: exit %d, %q %q", code, out, errOut)
	}
	if n := len(uriSet(t, vars)); n != 3 {
		t.Fatalf("a dry run changed the store: %d accounts", n)
	}
	out, errOut, code = run1(t, vars, "", importCommand(), twofas)
	if code != 0 || out != "added 3, skipped 0 (already present), unsupported 1\n" {
		t.Fatalf("exit %d, %q %q", code, out, errOut)
	}
	for _, want := range []string{
		"GitHub:alice@example.com exists with another secret; imported as GitHub:alice@example.com (2)",
		"not imported: Yandex:y: token type",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}
	// The Steam account gives 5-character codes (RFC 6238 SHA1 seed at
	// 1700000000 s: R87JJ, computed from the public algorithm), and a
	// migration export leaves it out, saying so.
	if out, errOut, code = run1(t, vars, "", codeCommand(), "steam"); code != 0 || out != "R87JJ\n" {
		t.Fatalf("code steam: exit %d, %q %q", code, out, errOut)
	}
	_, errOut, code = run1(t, vars, "", exportCommand(), "--format", "migration", "--yes")
	if code != 0 || !strings.Contains(errOut, "not exported: Steam:gamer: Google Authenticator exports cannot carry Steam Guard codes") {
		t.Fatalf("export migration: exit %d, stderr %q", code, errOut)
	}
}

// TestImportCleansControlCharacters: an imported issuer that is an OSC 52
// clipboard write and a name whose newline would forge a row are stored
// and listed without them; the import says what it changed, escaped, and
// nothing raw reaches the terminal.
func TestImportCleansControlCharacters(t *testing.T) {
	vars := keyringStore(t)
	file := writeFile(t, "evil.txt", "otpauth://totp/%1B%5D52%3Bc%3BaGk%3D%07Bank:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n"+
		"otpauth://totp/Mail:bob%0AGitHub:eve%20123456?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n")
	out, errOut, code := run1(t, vars, "", importCommand(), file)
	if code != 0 || out != "added 2, skipped 0 (already present), unsupported 0\n" {
		t.Fatalf("import: exit %d, %q %q", code, out, errOut)
	}
	if !strings.Contains(errOut, `\x1b]52;c;aGk=\x07Bank:alice held control characters; imported as ]52;c;aGk=Bank:alice`) {
		t.Errorf("stderr %q", errOut)
	}
	list, _, _ := run1(t, vars, "", listCommand())
	for _, s := range []string{out, errOut, list} {
		if strings.ContainsAny(s, "\x1b\x07") {
			t.Fatalf("raw control characters reached the terminal: %q", s)
		}
	}
	if n := strings.Count(list, "\n"); n != 2 || !strings.Contains(list, "Mail:bob GitHub:eve 123456") {
		t.Fatalf("list shows %d rows:\n%s", n, list)
	}
}

// TestOutputEscapesOldLabels: labels that older versions stored raw (an
// escape sequence, a bidi override, a newline) are printed escaped by
// list, code --copy's messages, rm and in errors, never sent raw.
func TestOutputEscapesOldLabels(t *testing.T) {
	vars := keyringStore(t)
	if _, errOut, code := run1(t, vars, "", addCommand(), "--secret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "--issuer", "Old", "--name", "alice"); code != 0 {
		t.Fatal(errOut)
	}
	p := filepath.Join(vars["LATCHKEY_HOME"], "accounts.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte(`"issuer":"Old"`), []byte(`"issuer":"\u001b[2J\u001b]52;c;aGk=\u0007Old\u202e"`), 1)
	data = bytes.Replace(data, []byte(`"name":"alice"`), []byte(`"name":"alice\nForged:row 000000"`), 1)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	list, errOut, code := run1(t, vars, "", listCommand())
	if code != 0 || strings.Count(list, "\n") != 1 || !strings.Contains(list, `\x1b[2J\x1b]52;c;aGk=\x07Old\u202e:alice\nForged:row 000000`) {
		t.Fatalf("list: exit %d, %q %q", code, list, errOut)
	}
	_, errOut, code = run1(t, vars, "", renameCommand(), "old", "Old:alice")
	out, errOut2, code2 := run1(t, vars, "y\n", rmCommand(), "alice", "--yes")
	for _, s := range []string{list, errOut, out, errOut2} {
		if strings.ContainsAny(s, "\x1b\x07\u202e") {
			t.Fatalf("raw control characters reached the terminal: %q", s)
		}
	}
	if code != 0 || code2 != 0 {
		t.Fatalf("rename %d %q, rm %d %q", code, errOut, code2, errOut2)
	}
}

// TestOneBrokenAccountDoesNotSinkTheRest: with one account's keyring item
// deleted behind Latchkey's back, list still shows every other code and
// names the broken one, and export writes the others and says which it
// left out.
func TestOneBrokenAccountDoesNotSinkTheRest(t *testing.T) {
	vars := keyringStore(t)
	secretTool := testenv.Tool(t, "secret-tool")
	for _, n := range []string{"good", "gone"} {
		if _, errOut, code := run1(t, vars, "", addCommand(), "--secret", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "--issuer", "Broken", "--name", n); code != 0 {
			t.Fatal(errOut)
		}
	}
	out, _, _ := run1(t, vars, "", listCommand(), "--json")
	var items []struct{ ID, Name, Code, Error string }
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
	list, errOut, code := run1(t, vars, "", listCommand())
	if code != 0 || !strings.Contains(list, "Broken:gone") || !strings.Contains(errOut, "no code for Broken:gone: the keyring has no secret for it") {
		t.Fatalf("list: exit %d, %q %q", code, list, errOut)
	}
	good := regexp.MustCompile(`Broken:good\s+\d{3} \d{3}\s+\d+s`)
	if !good.MatchString(list) {
		t.Fatalf("list lost the good account's code:\n%s", list)
	}
	out, _, code = run1(t, vars, "", listCommand(), "--json")
	if code != 0 || !strings.Contains(out, `"error": "the keyring has no secret for this account"`) {
		t.Fatalf("list --json: exit %d, %s", code, out)
	}
	out, errOut, code = run1(t, vars, "", exportCommand(), "--format", "uris", "--yes")
	if code != 0 || strings.Count(out, "otpauth://") != 1 || !strings.Contains(out, "Broken:good") || !strings.Contains(errOut, "not exported Broken:gone") {
		t.Fatalf("export: exit %d, %q %q", code, out, errOut)
	}
}

// TestRollbackCommand: an accounts.json put back from an older copy
// (HOTP counter rewound) makes `code` refuse the HOTP account and say how
// to go on; `store accept-rollback` takes it as it is.
func TestRollbackCommand(t *testing.T) {
	vars := keyringStore(t)
	if _, errOut, code := run1(t, vars, "", addCommand(), "otpauth://hotp/Roll:back?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=0"); code != 0 {
		t.Fatal(errOut)
	}
	p := filepath.Join(vars["LATCHKEY_HOME"], "accounts.json")
	old, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// RFC 4226 appendix D: counter 0 gives 755224, counter 1 287082.
	if out, errOut, code := run1(t, vars, "", codeCommand(), "roll"); code != 0 || out != "755224\n" {
		t.Fatalf("code: %d %q %q", code, out, errOut)
	}
	if err := os.WriteFile(p, old, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run1(t, vars, "", codeCommand(), "roll")
	if code != 1 || out != "" || !strings.Contains(errOut, "older than one this computer has seen") || !strings.Contains(errOut, "latchkey store accept-rollback") {
		t.Fatalf("code after a rollback: %d %q %q", code, out, errOut)
	}
	if out, errOut, code = run1(t, vars, "", storeCommand(), "accept-rollback"); code != 0 || !strings.Contains(out, "accepted") {
		t.Fatalf("accept-rollback: %d %q %q", code, out, errOut)
	}
	if out, errOut, code = run1(t, vars, "", codeCommand(), "roll"); code != 0 || out != "755224\n" {
		t.Fatalf("code after accepting: %d %q %q", code, out, errOut)
	}
	run1(t, vars, "", rmCommand(), "roll", "--yes")
}

// TestStoreDoctor runs `store doctor` against the real Secret Service: an
// item whose account was removed outside Latchkey is listed, reattached
// (its code is the one oathtool computes), and after a second orphaning
// removed, leaving nothing for secret-tool to find.
func TestStoreDoctor(t *testing.T) {
	vars := keyringStore(t)
	secretTool := testenv.Tool(t, "secret-tool")
	oathtool := testenv.Tool(t, "oathtool")
	const b32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	out, errOut, code := run1(t, vars, "", addCommand(), "--secret", b32, "--issuer", "Doc", "--name", "tor")
	if code != 0 {
		t.Fatal(errOut)
	}
	id := strings.TrimSuffix(strings.Fields(out)[len(strings.Fields(out))-1], ")")
	p := filepath.Join(vars["LATCHKEY_HOME"], "accounts.json")
	orphan := func() {
		// The account goes, the item stays (as a crash between the two
		// writes, or a hand-edited file, would leave it).
		if err := os.WriteFile(p, []byte(`{"version":1,"accounts":[]}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	orphan()
	out, errOut, code = run1(t, vars, "", storeCommand(), "doctor")
	if code != 0 || !strings.Contains(out, "orphaned keyring item "+id) || !strings.Contains(errOut, "--reattach") {
		t.Fatalf("doctor: %d %q %q", code, out, errOut)
	}
	if _, errOut, code = run1(t, vars, "", storeCommand(), "doctor", "--reattach"); code != 2 {
		t.Fatalf("doctor --reattach without IDs: %d %q", code, errOut)
	}
	if out, errOut, code = run1(t, vars, "", storeCommand(), "doctor", "--reattach", id); code != 0 || !strings.Contains(out, "reattached as Recovered:"+id) {
		t.Fatalf("doctor --reattach: %d %q %q", code, out, errOut)
	}
	want, err := exec.Command(oathtool, "--totp", "-b", b32, "--now", "2023-11-14 22:13:20 UTC").Output()
	if err != nil {
		t.Fatal(err)
	}
	if out, errOut, code = run1(t, vars, "", codeCommand(), "recovered", "--at", "1700000000"); code != 0 || out != string(want) {
		t.Fatalf("code of the reattached account: %d %q %q, want %q", code, out, errOut, want)
	}
	orphan()
	if _, errOut, code = run1(t, vars, "", storeCommand(), "doctor", "--remove", id); code != 2 || !strings.Contains(errOut, "--yes") {
		t.Fatalf("doctor --remove without a terminal: %d %q", code, errOut)
	}
	if out, errOut, code = run1(t, vars, "", storeCommand(), "doctor", "--remove", "--yes", id); code != 0 || !strings.Contains(out, "removed 1") {
		t.Fatalf("doctor --remove --yes: %d %q %q", code, out, errOut)
	}
	if got, _ := exec.Command(secretTool, "lookup", "service", "latchkey", "username", id).Output(); len(got) != 0 {
		t.Fatal("the item survived --remove")
	}
}
