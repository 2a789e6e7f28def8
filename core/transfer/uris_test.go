package transfer

import (
	"errors"
	"strings"
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

func TestURIsRoundTrip(t *testing.T) {
	want := append(sample(t), steamEntry())
	out, skipped := WriteURIs(want)
	if len(skipped) != 0 {
		t.Fatalf("skipped %v", skipped)
	}
	if n := strings.Count(string(out), "\n"); n != len(want) {
		t.Fatalf("%d lines, want %d", n, len(want))
	}
	if !strings.Contains(string(out), "otpauth://steam/Steam:gamer?") {
		t.Fatalf("steam URI not written as otpauth://steam/: %s", out)
	}
	got, warnings, err := ParseURIs(out)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("err %v, warnings %v", err, warnings)
	}
	same(t, got, want, false)
	checkSteam(t, &got[len(got)-1])
	// KeePassXC's spelling reads the same.
	got, _, err = ParseURIs([]byte("otpauth://totp/Steam:gamer?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Steam&encoder=steam\n"))
	if err != nil || len(got) != 1 {
		t.Fatalf("encoder=steam: %v", err)
	}
	checkSteam(t, &got[0])
}

func TestParseURIs(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		n        int
		mentions string // in the error, or "" for success
	}{
		{"one uri no newline", "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP", 1, ""},
		{"comments blank crlf and bom", "\ufeff# exported\r\n\r\notpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP\r\n  # indented comment\n otpauth://hotp/C:d?secret=JBSWY3DPEHPK3PXP&counter=7 \n", 2, ""},
		{"bad secret names the line", "otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP\n\notpauth://totp/C:d?secret=JB1SWY3D\n", 0, "line 3: invalid otpauth URI: secret"},
		{"not a uri", "hello\n", 0, "line 1: invalid otpauth URI: scheme"},
		{"only comments", "# nothing\n\n", 0, "no otpauth"},
		{"huge line", "otpauth://totp/A:b?secret=" + strings.Repeat("A", 2<<20), 0, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := ParseURIs([]byte(tt.in))
			if tt.mentions != "" {
				if err == nil || !strings.Contains(err.Error(), tt.mentions) {
					t.Fatalf("error %v, want one mentioning %q", err, tt.mentions)
				}
				if got != nil {
					t.Fatalf("entries with an error: %d", len(got))
				}
				if strings.Contains(err.Error(), "JB1SWY3D") {
					t.Fatalf("error quotes the secret: %v", err)
				}
				return
			}
			if err != nil || len(got) != tt.n {
				t.Fatalf("got %d entries, err %v; want %d", len(got), err, tt.n)
			}
		})
	}
}

func TestParseURIsWarningsAndUnsupported(t *testing.T) {
	in := "otpauth://totp/Label:x?secret=JBSWY3DPEHPK3PXP&issuer=Other\n"
	got, warnings, err := ParseURIs([]byte(in))
	if err != nil || len(got) != 1 {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "line 1") {
		t.Fatalf("warnings %q", warnings)
	}
	if got[0].Key.Warnings != nil {
		t.Fatal("warnings left on the key")
	}
}

func TestWriteURIsSkipsUnsupported(t *testing.T) {
	es := []Entry{{Key: otpauth.Key{Issuer: "Old", Account: "x"}, Unsupported: "motp entries are not supported"}, sample(t)[0]}
	out, skipped := WriteURIs(es)
	if len(skipped) != 1 || skipped[0].Label != "Old:x" || strings.Count(string(out), "\n") != 1 {
		t.Fatalf("skipped %v, out %d lines", skipped, strings.Count(string(out), "\n"))
	}
}

func TestReadTooLarge(t *testing.T) {
	_, err := Read(make([]byte, MaxInput+1), Options{})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err %v", err)
	}
}

func TestCheckDefaults(t *testing.T) {
	e := Entry{Key: otpauth.Key{Secret: otp.Secret{1, 2, 3}}}
	if err := check(&e); err != nil || e.Key.Digits != 6 || e.Key.Period != 30 {
		t.Fatalf("err %v, %d digits, period %d", err, e.Key.Digits, e.Key.Period)
	}
	e = Entry{Key: otpauth.Key{Secret: otp.Secret{1}, Digits: 5}}
	if err := check(&e); err != nil || !strings.Contains(e.Unsupported, "5-digit") {
		t.Fatalf("err %v, unsupported %q", err, e.Unsupported)
	}
	e = Entry{}
	if err := check(&e); err == nil {
		t.Fatal("empty secret accepted")
	}
}
