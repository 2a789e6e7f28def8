package transfer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"latchkey/core/qr"
)

// Every parser's fuzz target asserts: no panic, either an error and no
// entries or only usable/explicitly unsupported entries (no partial
// import). Memory stays bounded because inputs are capped and the
// key-derivation parameters a file may ask for are capped.

func fuzzSeeds(f *testing.F, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
}

func FuzzParseURIs(f *testing.F) {
	out, _ := WriteURIs(sample(f))
	fuzzSeeds(f, out, []byte("# c\n\notpauth://hotp/x?secret=AA&counter=1"), []byte("otpauth-migration://offline?data=CgA%3D"),
		[]byte("otpauth://steam/S:g?secret=GEZDGNBV&digits=5\notpauth://totp/S:h?secret=GEZDGNBV&encoder=steam"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _, err := ParseURIs(data)
		checkValid(t, entries, err)
	})
}

func FuzzParseMigration(f *testing.F) {
	uris, _, _ := MigrationURIs(sample(f), 2)
	fuzzSeeds(f, []byte(strings.Join(uris, "\n")))
	f.Add(gaPayload([]gaParam{{secret: rfcSecret, name: "x", algorithm: 4, typ: 1, counter: 3}}, 2, 1, 5))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Both raw payload bytes and URI text.
		entries, _, err := ParseMigration([]string{gaURI(data)})
		checkValid(t, entries, err)
		entries, _, err = ParseMigration(strings.Split(string(data), "\n"))
		checkValid(t, entries, err)
	})
}

func FuzzParseAegis(f *testing.F) {
	plain, _, _ := WriteAegis(sample(f))
	fuzzSeeds(f, plain, []byte(`{"version": 1, "header": {"slots": null, "params": null}, "db": `+aegisPlainDB+`}`))
	// A small encrypted vault (fast scrypt) keeps fuzzing quick while
	// reaching the decryption paths.
	f.Add([]byte(`{"version":1,"header":{"slots":[{"type":1,"uuid":"u","key":"00","key_params":{"nonce":"000000000000000000000000","tag":"00000000000000000000000000000000"},"n":16,"r":1,"p":1,"salt":"00"}],"params":{"nonce":"000000000000000000000000","tag":"00000000000000000000000000000000"}},"db":"AAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseAegis(data, pw("pw"))
		checkValid(t, entries, err)
	})
}

func FuzzParseTwoFAS(f *testing.F) {
	fuzzSeeds(f, []byte(`{"services": `+twofasServices+`, "groups": `+twofasGroups+`}`),
		[]byte(`{"servicesEncrypted": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:AAAA:AAAAAAAAAAAAAAAA"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseTwoFAS(data, pw("pw"))
		checkValid(t, entries, err)
	})
}

func FuzzParseBackup(f *testing.F) {
	var buf bytes.Buffer
	WriteBackup(&buf, sample(f), []byte("pw"), BackupOptions{WorkFactor: 2})
	fuzzSeeds(f, buf.Bytes(), []byte("age-encryption.org/v1\n-> scrypt AAAA 2\nAAAA\n--- AAAA\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseBackup(data, pw("pw"))
		checkValid(t, entries, err)
	})
}

func FuzzRead(f *testing.F) {
	out, _ := WriteURIs(sample(f))
	png, _ := qr.PNG("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP", 64)
	fuzzSeeds(f, out, png, []byte(`{"services":[]}`), []byte(`{"version":1,"header":{},"db":{"version":3,"entries":[]}}`))
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	for _, p := range fixtures {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Read(data, Options{Passphrase: pw("pw")})
		if err != nil {
			if res != nil {
				t.Fatal("result with an error")
			}
			return
		}
		checkValid(t, res.Entries, nil)
	})
}

func FuzzParseAndOTP(f *testing.F) {
	fuzzSeeds(f, []byte(andotpBackup), encryptAndOTP(f, andotpBackup, "pw", 2), []byte(`[{"secret":"AA","label":"x","type":"HOTP","counter":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseAndOTP(data, pw("pw"))
		checkValid(t, entries, err)
	})
}

func FuzzParseFreeOTP(f *testing.F) {
	fuzzSeeds(f, []byte(freeotpExportJSON()), []byte(`{"tokens":[{"type":"HOTP","secret":[-1,2],"label":"x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseFreeOTP(data)
		checkValid(t, entries, err)
	})
}

func FuzzParseAuthenticatorPro(f *testing.F) {
	fuzzSeeds(f, []byte(authproJSON))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseAuthenticatorPro(data)
		checkValid(t, entries, err)
	})
}

func FuzzParseEnte(f *testing.F) {
	out, _ := WriteURIs(sample(f))
	fuzzSeeds(f, []byte(enteExport()), out)
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _, err := ParseEnte(data)
		checkValid(t, entries, err)
	})
}

// The password managers' parsers share a property: a login is either an
// entry or counted as having no code, never both, never lost to a panic.
func fuzzPasswordManager(f *testing.F, parse func([]byte) ([]Entry, int, error), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, n, err := parse(data)
		checkValid(t, entries, err)
		if n < 0 || (err != nil && n != 0) {
			t.Fatalf("%d logins without a code, err %v", n, err)
		}
	})
}

func FuzzParseBitwarden(f *testing.F) {
	fuzzPasswordManager(f, ParseBitwarden, bitwardenJSON, bitwardenCSV)
}

func FuzzParseProtonPass(f *testing.F) {
	fuzzPasswordManager(f, ParseProtonPass, protonJSON, protonCSV)
}

func FuzzParseKeePassXC(f *testing.F) {
	fuzzPasswordManager(f, ParseKeePassXC, keepassxcCSV)
}
