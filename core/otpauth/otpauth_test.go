package otpauth

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	potp "github.com/pquerna/otp"

	"latchkey/core/otp"
)

const b32 = "JBSWY3DPEHPK3PXP" // "Hello!\xde\xad\xbe\xef"

func TestParse(t *testing.T) {
	secret := otp.Secret("Hello!\xde\xad\xbe\xef")
	tests := []struct {
		name string
		uri  string
		want Key
		warn int
	}{
		{"google example", "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
			Key{Type: otp.TOTP, Issuer: "Example", Account: "alice@google.com", Secret: secret, Digits: 6, Period: 30}, 0},
		{"every parameter", "otpauth://totp/ACME%20Co:john.doe@email.com?secret=" + b32 + "&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60",
			Key{Type: otp.TOTP, Issuer: "ACME Co", Account: "john.doe@email.com", Secret: secret, Algorithm: otp.SHA256, Digits: 8, Period: 60}, 0},
		{"hotp", "otpauth://hotp/Example:bob?secret=" + b32 + "&counter=42&algorithm=sha512&digits=7",
			Key{Type: otp.HOTP, Issuer: "Example", Account: "bob", Secret: secret, Algorithm: otp.SHA512, Digits: 7, Period: 30, Counter: 42}, 0},
		{"issuer only in parameter", "otpauth://totp/bob?secret=" + b32 + "&issuer=Corp",
			Key{Type: otp.TOTP, Issuer: "Corp", Account: "bob", Secret: secret, Digits: 6, Period: 30}, 0},
		{"issuer only in label", "otpauth://totp/Corp:bob?secret=" + b32,
			Key{Type: otp.TOTP, Issuer: "Corp", Account: "bob", Secret: secret, Digits: 6, Period: 30}, 0},
		{"encoded colon and space after it", "otpauth://totp/Corp%3A%20bob?secret=" + b32,
			Key{Type: otp.TOTP, Issuer: "Corp", Account: "bob", Secret: secret, Digits: 6, Period: 30}, 0},
		{"plus in label is literal", "otpauth://totp/Corp:bob+tag@x.org?secret=" + b32,
			Key{Type: otp.TOTP, Issuer: "Corp", Account: "bob+tag@x.org", Secret: secret, Digits: 6, Period: 30}, 0},
		{"lower-case padded spaced secret, upper-case scheme", "OTPAUTH://TOTP/x?secret=jbsw%20y3dp%20ehpk%203pxp====",
			Key{Type: otp.TOTP, Account: "x", Secret: secret, Digits: 6, Period: 30}, 0},
		{"unknown parameters ignored", "otpauth://totp/x?secret=" + b32 + "&image=https%3A%2F%2Fx%2Fi.png&foo=bar",
			Key{Type: otp.TOTP, Account: "x", Secret: secret, Digits: 6, Period: 30}, 0},
		{"no label", "otpauth://totp?secret=" + b32,
			Key{Type: otp.TOTP, Secret: secret, Digits: 6, Period: 30}, 0},
		{"issuer mismatch warns, parameter wins", "otpauth://totp/Old:bob?secret=" + b32 + "&issuer=New",
			Key{Type: otp.TOTP, Issuer: "New", Account: "bob", Secret: secret, Digits: 6, Period: 30}, 1},
		{"short secret warns", "otpauth://totp/x?secret=MZXW6",
			Key{Type: otp.TOTP, Account: "x", Secret: otp.Secret("foo"), Digits: 6, Period: 30}, 1},
		{"hotp ignores period", "otpauth://hotp/x?secret=" + b32 + "&counter=0&period=0",
			Key{Type: otp.HOTP, Account: "x", Secret: secret, Digits: 6, Period: 30}, 0},
		{"steam as Aegis writes it", "otpauth://steam/Steam:gamer?period=30&digits=5&algorithm=SHA1&secret=" + b32 + "&issuer=Steam",
			Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: secret, Digits: 5, Period: 30}, 0},
		{"steam defaults to 5 characters", "otpauth://STEAM/gamer?secret=" + b32,
			Key{Type: otp.Steam, Account: "gamer", Secret: secret, Digits: 5, Period: 30}, 0},
		{"totp with the steam encoder", "otpauth://totp/Steam:gamer?secret=" + b32 + "&issuer=Steam&encoder=Steam",
			Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: secret, Digits: 5, Period: 30}, 0},
		{"steam encoder on a steam URI", "otpauth://steam/gamer?secret=" + b32 + "&encoder=steam&digits=5",
			Key{Type: otp.Steam, Account: "gamer", Secret: secret, Digits: 5, Period: 30}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := Parse(tt.uri)
			if err != nil {
				t.Fatal(err)
			}
			if len(k.Warnings) != tt.warn {
				t.Errorf("warnings = %q, want %d", k.Warnings, tt.warn)
			}
			k.Warnings = nil
			if !reflect.DeepEqual(*k, tt.want) {
				t.Fatalf("Parse =\n%#v\nwant\n%#v", *k, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		uri, field string
	}{
		{"https://example.com", "scheme"},
		{"otpauth-migration://offline?data=abc", "scheme"},
		{"otpauth://motp/x?secret=" + b32, "type"},
		{"otpauth://totp/x", "secret"},
		{"otpauth://totp/x?secret=", "secret"},
		{"otpauth://totp/x?secret=JBSWY3DP1HPK3PXP", "secret"},
		{"otpauth://totp/x?secret=ABC", "secret"},
		{"otpauth://totp/x?secret=" + b32 + "&digits=5", "digits"},
		{"otpauth://totp/x?secret=" + b32 + "&digits=9", "digits"},
		{"otpauth://totp/x?secret=" + b32 + "&digits=six", "digits"},
		{"otpauth://totp/x?secret=" + b32 + "&algorithm=MD5", "algorithm"},
		{"otpauth://totp/x?secret=" + b32 + "&period=0", "period"},
		{"otpauth://totp/x?secret=" + b32 + "&period=-30", "period"},
		{"otpauth://totp/x?secret=" + b32 + "&period=3601", "period"},
		{"otpauth://hotp/x?secret=" + b32, "counter"},
		{"otpauth://hotp/x?secret=" + b32 + "&counter=-1", "counter"},
		{"otpauth://steam/x?secret=" + b32 + "&digits=6", "digits"},
		{"otpauth://totp/x?secret=" + b32 + "&encoder=steam&digits=6", "digits"},
		{"otpauth://hotp/x?secret=" + b32 + "&counter=1&encoder=steam", "encoder"},
		{"otpauth://totp/x?secret=" + b32 + "&encoder=yandex", "encoder"},
		{"otpauth://totp/%zz?secret=" + b32, "uri"},
		{"otpauth://totp/x?secret=" + b32 + strings.Repeat("&a=b", 3000), "uri"},
	}
	for _, tt := range tests {
		t.Run(tt.field+" "+clip(tt.uri), func(t *testing.T) {
			_, err := Parse(tt.uri)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("Parse error = %v, want a FieldError", err)
			}
			if fe.Field != tt.field {
				t.Fatalf("field = %s (%v), want %s", fe.Field, err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("message %q does not name the field", err)
			}
			if strings.Contains(err.Error(), b32) {
				t.Errorf("message %q contains the secret", err)
			}
		})
	}
}

func TestString(t *testing.T) {
	k := &Key{Type: otp.TOTP, Issuer: "ACME Co", Account: "john doe@x.org", Secret: otp.Secret("Hello!\xde\xad\xbe\xef"), Digits: 6, Period: 30}
	want := "otpauth://totp/ACME%20Co:john%20doe%40x.org?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
	if got := k.String(); got != want {
		t.Fatalf("String =\n%s\nwant\n%s", got, want)
	}
	h := &Key{Type: otp.HOTP, Account: "a", Secret: otp.Secret("Hello!\xde\xad\xbe\xef"), Counter: 7}
	if got := h.String(); got != "otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&counter=7" {
		t.Fatalf("hotp String = %s", got)
	}
	st := &Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: otp.Secret("Hello!\xde\xad\xbe\xef")}
	if got := st.String(); got != "otpauth://steam/Steam:gamer?secret=JBSWY3DPEHPK3PXP&issuer=Steam&algorithm=SHA1&digits=5&period=30" {
		t.Fatalf("steam String = %s", got)
	}
	// The RFC 6238 SHA1 seed at 59 s: value 1094287082, Steam code PV9M4.
	st.Secret = otp.Secret("12345678901234567890")
	if g, err := st.Generator(); err != nil || g.At(time.Unix(59, 0)) != "PV9M4" {
		t.Fatalf("steam generator: %v", err)
	}
	if s := fmt.Sprintf("%v %s", k, k); strings.Contains(s, "JBSWY3DP") {
		t.Fatalf("fmt leaks the secret: %s", s)
	}
}

func TestRoundTripAwkwardLabels(t *testing.T) {
	for _, tc := range []struct{ issuer, account string }{
		{"", "a:b"}, {"x:y", "acct"}, {"x:y", "a:b"}, {"Iss", "a:b:c"}, {"Iss", ""},
		{"Émile & Co", "ü@x?y=z#w/v"}, {"100%", "50% off"}, {"a+b", "c+d"},
	} {
		k := &Key{Type: otp.TOTP, Issuer: tc.issuer, Account: tc.account, Secret: otp.Secret("0123456789abcdef"), Digits: 6, Period: 30}
		got, err := Parse(k.String())
		if err != nil {
			t.Fatalf("%q: %v", k.String(), err)
		}
		got.Warnings = nil
		if !reflect.DeepEqual(got, k) {
			t.Errorf("round trip of %q/%q via %s gave %q/%q", tc.issuer, tc.account, k.String(), got.Issuer, got.Account)
		}
	}
}

// TestPquernaReadsOurURIs checks interop with another parser.
func TestPquernaReadsOurURIs(t *testing.T) {
	k := &Key{Type: otp.TOTP, Issuer: "ACME Co", Account: "john@x.org", Secret: otp.Secret("0123456789abcdefghij"), Algorithm: otp.SHA256, Digits: 8, Period: 60}
	pk, err := potp.NewKeyFromURL(k.String())
	if err != nil {
		t.Fatal(err)
	}
	if pk.Issuer() != k.Issuer || pk.AccountName() != k.Account || pk.Secret() != otp.EncodeSecret(k.Secret) ||
		pk.Period() != 60 || pk.Digits() != potp.DigitsEight || pk.Algorithm() != potp.AlgorithmSHA256 {
		t.Fatalf("pquerna read issuer=%q account=%q period=%d digits=%v alg=%v", pk.Issuer(), pk.AccountName(), pk.Period(), pk.Digits(), pk.Algorithm())
	}
	g, err := k.Generator()
	if err != nil {
		t.Fatal(err)
	}
	if g.At(time.Unix(1e9, 0)) == "" {
		t.Fatal("no code")
	}
}
