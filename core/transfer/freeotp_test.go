package transfer

import (
	"strconv"
	"strings"
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// signedBytes writes b as the JSON array of Java (signed) bytes that
// FreeOTP+'s Gson export holds for a secret.
func signedBytes(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = strconv.Itoa(int(int8(c)))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// freeotpExportJSON is a FreeOTP+ export with the fields of its legacy
// Token class (token-data/.../legacy/Token.java in helloworld1/FreeOTPPlus)
// and the tokenOrder list ImportExportUtil.kt writes. The secret bytes
// include values above 127, written negative as Java does.
func freeotpExportJSON() string {
	high := signedBytes([]byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x80, 0xff, 0x7f, 0x00, 0x10})
	rfc := signedBytes(rfcSecret)
	return `{"tokenOrder": ["GitHub:alice@example.com", "Bank:carol", "Steam:gamer"], "tokens": [
  {"algo": "SHA1", "counter": 0, "digits": 6, "issuerExt": "GitHub", "issuerInt": "GitHub", "label": "alice@example.com",
   "period": 30, "secret": ` + high + `, "type": "TOTP"},
  {"algo": "SHA256", "counter": 9, "digits": 8, "issuerExt": "Bank", "label": "old name", "labelAlt": "carol",
   "period": 30, "secret": ` + rfc + `, "type": "HOTP"},
  {"algo": "SHA1", "counter": 0, "digits": 5, "issuerExt": "Steam", "label": "gamer", "period": 30, "secret": ` + rfc + `, "type": "TOTP",
   "imagePath": "content://x"}
]}`
}

func TestParseFreeOTP(t *testing.T) {
	in := []byte(freeotpExportJSON())
	if f, err := Detect(in); f != FormatFreeOTP {
		t.Fatalf("detected %q, %v", f, err)
	}
	got, err := ParseFreeOTP(in)
	if err != nil {
		t.Fatal(err)
	}
	s := otp.Secret(rfcSecret)
	want := []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: otp.Secret{0xde, 0xad, 0xbe, 0xef, 0x01, 0x80, 0xff, 0x7f, 0x00, 0x10}, Digits: 6, Period: 30}},
		{Key: otpauth.Key{Type: otp.HOTP, Issuer: "Bank", Account: "carol", Secret: s, Algorithm: otp.SHA256, Digits: 8, Period: 30, Counter: 9}},
		{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: s, Digits: 5, Period: 30}},
	}
	same(t, got, want, true)
	checkSteam(t, &got[2])
}

func TestParseFreeOTPErrors(t *testing.T) {
	tests := []struct{ name, in, mentions string }{
		{"byte out of range", `{"tokens": [{"type": "TOTP", "issuerExt": "X", "label": "a", "secret": [1, 300]}]}`, "token 1 (X:a): secret: byte 2"},
		{"empty secret", `{"tokens": [{"type": "TOTP", "label": "a", "secret": []}]}`, "secret"},
		{"secret as string", `{"tokens": [{"type": "TOTP", "label": "a", "secret": "GEZDGNBV"}]}`, "wrong type"},
		{"digits", `{"tokens": [{"type": "TOTP", "label": "a", "secret": [1,2,3], "digits": 9}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFreeOTP([]byte(tt.in))
			if tt.mentions == "" {
				if err != nil || got[0].Unsupported == "" {
					t.Fatalf("want an unsupported entry, got %v %+v", err, got)
				}
				return
			}
			if err == nil || got != nil || !strings.Contains(err.Error(), tt.mentions) {
				t.Fatalf("got %d entries, err %v; want one mentioning %q", len(got), err, tt.mentions)
			}
		})
	}
}
