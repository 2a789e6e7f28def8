package transfer

import (
	"strings"
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// authproJSON follows Authenticator Pro's "Backup File Format"
// documentation (jamie-mh/AuthenticatorPro): Type 1 HOTP, 2 TOTP, 3 mOTP,
// 4 Steam; Algorithm 0 SHA-1, 1 SHA-256, 2 SHA-512; categories linked by
// secret; authenticators shown by Ranking (given out of order here).
const authproJSON = `{
  "Authenticators": [
    {"Type": 1, "Icon": "bank", "Issuer": "Bank", "Username": "carol", "Secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "Pin": null,
     "Algorithm": 2, "Digits": 8, "Period": 30, "Counter": 9, "Ranking": 1, "CopyCount": 0},
    {"Type": 2, "Icon": "github", "Issuer": "GitHub", "Username": "alice@example.com", "Secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "Pin": null,
     "Algorithm": 0, "Digits": 6, "Period": 30, "Counter": 0, "Ranking": 0, "CopyCount": 10},
    {"Type": 4, "Icon": "steam", "Issuer": "Steam", "Username": "gamer", "Secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "Pin": null,
     "Algorithm": 0, "Digits": 5, "Period": 30, "Counter": 0, "Ranking": 2, "CopyCount": 0},
    {"Type": 3, "Icon": null, "Issuer": "Old", "Username": "m", "Secret": "0123456789abcdef", "Pin": "1234",
     "Algorithm": 0, "Digits": 6, "Period": 10, "Counter": 0, "Ranking": 3, "CopyCount": 0}
  ],
  "Categories": [{"Id": "a8323a2a", "Name": "Web", "Ranking": 0}],
  "AuthenticatorCategories": [{"CategoryId": "a8323a2a", "AuthenticatorSecret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "Ranking": 0}],
  "CustomIcons": []
}`

func TestParseAuthenticatorPro(t *testing.T) {
	if f, err := Detect([]byte(authproJSON)); f != FormatAuthPro {
		t.Fatalf("detected %q, %v", f, err)
	}
	got, err := ParseAuthenticatorPro([]byte(authproJSON))
	if err != nil {
		t.Fatal(err)
	}
	s := otp.Secret(rfcSecret)
	want := []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: secret(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), Digits: 6, Period: 30}, Tags: []string{"Web"}},
		{Key: otpauth.Key{Type: otp.HOTP, Issuer: "Bank", Account: "carol", Secret: s, Algorithm: otp.SHA512, Digits: 8, Period: 30, Counter: 9}},
		{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: s, Digits: 5, Period: 30}},
		{Key: otpauth.Key{Issuer: "Old", Account: "m"}, Unsupported: "mOTP authenticators are not supported"},
	}
	same(t, got, want, true)
	checkSteam(t, &got[2])
}

func TestParseAuthenticatorProErrors(t *testing.T) {
	tests := []struct{ name, in, mentions string }{
		{"bad secret", `{"Authenticators": [{"Type": 2, "Issuer": "X", "Username": "a", "Secret": "!!"}]}`, "authenticator 1 (X:a): secret"},
		{"not json", `{"Authenticators": [`, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAuthenticatorPro([]byte(tt.in))
			if err == nil || got != nil || !strings.Contains(err.Error(), tt.mentions) {
				t.Fatalf("got %d entries, err %v; want one mentioning %q", len(got), err, tt.mentions)
			}
		})
	}
}
