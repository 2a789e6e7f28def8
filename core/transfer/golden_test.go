package transfer

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fixtures under testdata/")

// TestFixtures reads fixture files of every format. The fixtures were
// written by this test's -update mode from the public format
// descriptions (encryptAegis, encryptTwoFAS, encryptAndOTP, gaPayload,
// WriteBackup, and the documented layouts in each format's test) and
// are kept so that a change in a reader that breaks existing files shows
// up even when the writer changes with it.
func TestFixtures(t *testing.T) {
	const pass = "fixture password"
	var backup bytes.Buffer
	build := map[string]func() []byte{
		"aegis-encrypted.json": func() []byte { return encryptAegis(t, 32768, aegisPlainDB, pass) },
		"aegis-plain.json": func() []byte {
			return []byte(`{"version": 1, "header": {"slots": null, "params": null}, "db": ` + aegisPlainDB + "}\n")
		},
		"2fas-encrypted.2fas": func() []byte { return encryptTwoFAS(t, twofasServices, pass) },
		"2fas-plain.2fas": func() []byte {
			return []byte(`{"services": ` + twofasServices + `, "groups": ` + twofasGroups + `, "schemaVersion": 4}` + "\n")
		},
		"migration.txt": func() []byte {
			b1 := gaPayload([]gaParam{{secret: rfcSecret, name: "alice@example.com", issuer: "GitHub", algorithm: 1, digits: 1, typ: 2}}, 2, 0, 9)
			b2 := gaPayload([]gaParam{{secret: rfcSecret, name: "carol", issuer: "Bank", algorithm: 3, digits: 2, typ: 1, counter: 9}}, 2, 1, 9)
			return []byte(gaURI(b1) + "\n" + gaURI(b2) + "\n")
		},
		"andotp-plain.json":         func() []byte { return []byte(andotpBackup + "\n") },
		"andotp-encrypted.json.aes": func() []byte { return encryptAndOTP(t, andotpBackup, pass, 4321) },
		"freeotp-plus.json":         func() []byte { return []byte(freeotpExportJSON() + "\n") },
		"bitwarden.json":            func() []byte { return []byte(bitwardenJSON + "\n") },
		"bitwarden.csv":             func() []byte { return []byte(bitwardenCSV) },
		"protonpass.json":           func() []byte { return []byte(protonJSON + "\n") },
		"protonpass.csv":            func() []byte { return []byte(protonCSV) },
		"ente-auth.txt":             func() []byte { return []byte(enteExport()) },
		"keepassxc.csv":             func() []byte { return []byte(keepassxcCSV) },
		"authenticator-pro.json":    func() []byte { return []byte(authproJSON + "\n") },
		"backup.age": func() []byte {
			if _, err := WriteBackup(&backup, aegisWant()[:2], []byte(pass), BackupOptions{WorkFactor: 10}); err != nil {
				t.Fatal(err)
			}
			return backup.Bytes()
		},
	}
	want := map[string]struct {
		format Format
		labels string
	}{
		"aegis-encrypted.json":      {FormatAegis, "GitHub:alice@example.com Bank:carol Steam:gamer Old:m!"},
		"aegis-plain.json":          {FormatAegis, "GitHub:alice@example.com Bank:carol Steam:gamer Old:m!"},
		"2fas-encrypted.2fas":       {FormatTwoFAS, "GitHub:alice@example.com Bank:carol Steam:gamer"},
		"2fas-plain.2fas":           {FormatTwoFAS, "GitHub:alice@example.com Bank:carol Steam:gamer"},
		"migration.txt":             {FormatURIs, "GitHub:alice@example.com Bank:carol"},
		"backup.age":                {FormatBackup, "GitHub:alice@example.com Bank:carol"},
		"andotp-plain.json":         {FormatAndOTP, "GitHub:alice@example.com Bank:carol Steam:gamer"},
		"andotp-encrypted.json.aes": {FormatAndOTP, "GitHub:alice@example.com Bank:carol Steam:gamer"},
		"freeotp-plus.json":         {FormatFreeOTP, "GitHub:alice@example.com Bank:carol Steam:gamer"},
		"bitwarden.json":            {FormatBitwarden, "GitHub:alice@example.com Bank:carol Steam:gamer Odd:frank!"},
		"bitwarden.csv":             {FormatBitwarden, "GitHub:alice@example.com Bank:carol Steam:gamer Odd:frank!"},
		"protonpass.json":           {FormatProton, "GitHub:alice@example.com GitHub:alice@example.com Bank:carol Old:old!"},
		"protonpass.csv":            {FormatProton, "GitHub:alice@example.com Bank:carol"},
		"ente-auth.txt":             {FormatEnte, "GitHub:alice@example.com Bank:carol Steam:gamer Old:bob!"},
		"keepassxc.csv":             {FormatKeePassXC, "GitHub:alice@example.com Bank:carol Steam:gamer Odd:erin!"},
		"authenticator-pro.json":    {FormatAuthPro, "GitHub:alice@example.com Bank:carol Steam:gamer Old:m!"},
	}
	for name, mk := range build {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, mk(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write the fixtures)", err)
			}
			res, err := Read(data, Options{Passphrase: pw(pass)})
			if err != nil {
				t.Fatal(err)
			}
			var labels []string
			for _, e := range res.Entries {
				l := e.Label()
				if e.Unsupported != "" {
					l += "!"
				}
				labels = append(labels, l)
			}
			if res.Format != want[name].format || strings.Join(labels, " ") != want[name].labels {
				t.Fatalf("format %s, entries %q; want %s, %q", res.Format, labels, want[name].format, want[name].labels)
			}
			checkValid(t, res.Entries, nil)
			for i := range res.Entries {
				if res.Entries[i].Label() == "Steam:gamer" {
					checkSteam(t, &res.Entries[i])
				}
			}
			if strings.Contains(name, "encrypted") || name == "backup.age" {
				if _, err := Read(data, Options{Passphrase: pw("not the password")}); err == nil || !strings.Contains(err.Error(), "wrong password") {
					t.Fatalf("wrong password: %v", err)
				}
			}
		})
	}
}
