package transfer

import (
	"net/url"
	"strings"
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// enteExport is an Ente Auth plain-text export: otpauth URIs, one per
// line (docs/docs/auth/migration/export.md in ente-io/ente), each with
// the codeDisplay JSON of auth/lib/models/code_display.dart.
func enteExport() string {
	display := func(trashed bool, tags ...string) string {
		j := `{"pinned":false,"trashed":` + map[bool]string{true: "true", false: "false"}[trashed] +
			`,"lastUsedAt":0,"tapCount":2,"tags":["` + strings.Join(tags, `","`) + `"],"note":""}`
		if len(tags) == 0 {
			j = strings.Replace(j, `[""]`, `[]`, 1)
		}
		return url.QueryEscape(j)
	}
	return "otpauth://totp/GitHub:alice@example.com?algorithm=sha1&digits=6&issuer=GitHub&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&codeDisplay=" + display(false, "Work", "Code") + "\n" +
		"otpauth://hotp/Bank:carol?algorithm=sha512&counter=9&digits=8&issuer=Bank&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&codeDisplay=" + display(false) + "\n" +
		"otpauth://steam/Steam:gamer?algorithm=sha1&digits=5&issuer=Steam&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&codeDisplay=" + display(false) + "\n" +
		"otpauth://totp/Old:bob?algorithm=sha1&digits=6&issuer=Old&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&codeDisplay=" + display(true) + "\n"
}

func TestParseEnte(t *testing.T) {
	in := []byte(enteExport())
	if f, err := Detect(in); f != FormatEnte {
		t.Fatalf("detected %q, %v", f, err)
	}
	res, err := Read(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := otp.Secret(rfcSecret)
	want := []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: s, Digits: 6, Period: 30}, Tags: []string{"Work", "Code"}},
		{Key: otpauth.Key{Type: otp.HOTP, Issuer: "Bank", Account: "carol", Secret: s, Algorithm: otp.SHA512, Digits: 8, Period: 30, Counter: 9}},
		{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: s, Digits: 5, Period: 30}},
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "Old", Account: "bob", Digits: 6, Period: 30}, Unsupported: "it is in Ente's trash"},
	}
	same(t, res.Entries, want, true)
	checkSteam(t, &res.Entries[2])
}

// Latchkey's URI export is a file Ente Auth imports; read back as Ente
// (forced, since it has no codeDisplay to detect) it gives the accounts.
func TestEnteRoundTrip(t *testing.T) {
	out, skipped := WriteURIs(sample(t))
	if len(skipped) != 0 {
		t.Fatal(skipped)
	}
	res, err := Read(out, Options{Format: FormatEnte})
	if err != nil {
		t.Fatal(err)
	}
	same(t, res.Entries, sample(t), false)
	if _, err := Read([]byte("otpauth://totp/A:b?secret=18&codeDisplay=%7B%7D\n"), Options{}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad secret: %v", err)
	}
}
