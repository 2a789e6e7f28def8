package transfer

import (
	"errors"
	"strings"
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// bitwardenJSON is an unencrypted Bitwarden export in the layout its
// help page "Condition a Bitwarden .csv or .json" shows (and Proton's
// importer types in bitwarden.types.ts): folders, then items of type 1
// (login), 2 (secure note), 3 (card). The totp field holds an otpauth
// URI, a bare base32 secret or steam://; two logins have none.
const bitwardenJSON = `{
  "encrypted": false,
  "folders": [{"id": "f1", "name": "Work"}],
  "items": [
    {"id": "i1", "organizationId": null, "folderId": "f1", "type": 1, "reprompt": 0, "name": "GitHub", "notes": null, "favorite": false,
     "login": {"uris": [{"match": null, "uri": "https://github.com"}], "username": "alice@example.com", "password": "pw",
               "totp": "otpauth://totp/GitHub:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=GitHub"},
     "collectionIds": null},
    {"id": "i2", "folderId": null, "type": 1, "name": "Bank", "login": {"username": "carol", "password": "pw", "totp": "gezd gnbv gy3t qojq gezd gnbv gy3t qojq"}},
    {"id": "i3", "folderId": null, "type": 1, "name": "Steam", "login": {"username": "gamer", "totp": "steam://GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}},
    {"id": "i4", "folderId": "f1", "type": 1, "name": "Mail", "login": {"username": "dave", "password": "pw", "totp": null}},
    {"id": "i5", "folderId": null, "type": 1, "name": "Forum", "login": {"username": "erin", "password": "pw", "totp": ""}},
    {"id": "i6", "folderId": null, "type": 2, "name": "A note", "notes": "text", "secureNote": {"type": 0}},
    {"id": "i7", "folderId": null, "type": 3, "name": "Card", "card": {"number": "4111"}},
    {"id": "i8", "folderId": null, "type": 1, "name": "Odd", "login": {"username": "frank", "totp": "not a secret!"}}
  ]
}`

// bitwardenCSV is the same vault as Bitwarden's CSV export writes it (the
// column list on the same help page).
const bitwardenCSV = `folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp
Work,,login,GitHub,,,0,https://github.com,alice@example.com,pw,otpauth://totp/GitHub:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=GitHub
,,login,Bank,"a note, with a comma
and a second line",,0,,carol,pw,gezd gnbv gy3t qojq gezd gnbv gy3t qojq
,,login,Steam,,,0,,gamer,,steam://GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ
Work,1,login,Mail,,,0,,dave,pw,
,,login,Forum,,,0,,erin,pw,
,,note,A note,text,,0,,,,
,,login,Odd,,,0,,frank,,not a secret!
`

func bitwardenWant() []Entry {
	s := otp.Secret(rfcSecret)
	return []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: s, Digits: 6, Period: 30}, Tags: []string{"Work"}},
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "Bank", Account: "carol", Secret: s, Digits: 6, Period: 30}},
		{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: s, Digits: 5, Period: 30}},
		{Key: otpauth.Key{Issuer: "Odd", Account: "frank"}, Unsupported: "its one-time code field is neither an otpauth URI nor a base32 secret (otp: invalid secret: character 13 is not base32 (A-Z, 2-7))"},
	}
}

func TestParseBitwarden(t *testing.T) {
	for name, in := range map[string]string{"json": bitwardenJSON, "csv": bitwardenCSV} {
		t.Run(name, func(t *testing.T) {
			if f, err := Detect([]byte(in)); f != FormatBitwarden {
				t.Fatalf("detected %q, %v", f, err)
			}
			res, err := Read([]byte(in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			same(t, res.Entries, bitwardenWant(), true)
			checkSteam(t, &res.Entries[2])
			if res.NoOTP != 2 {
				t.Errorf("%d logins without a code, want 2", res.NoOTP)
			}
		})
	}
}

func TestParseBitwardenEncrypted(t *testing.T) {
	// A password-protected export (Bitwarden's "Encrypted export" help
	// page): refused with what to do instead.
	in := `{"encrypted": true, "passwordProtected": true, "salt": "c2FsdA==", "kdfType": 0, "kdfIterations": 600000,
	  "encKeyValidation_DO_NOT_EDIT": "2.x|y|z", "data": "2.a|b|c"}`
	if f, _ := Detect([]byte(in)); f != FormatBitwarden {
		t.Fatalf("detected %q", f)
	}
	_, err := Read([]byte(in), Options{Passphrase: pw("x")})
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "not encrypted") {
		t.Fatalf("err %v", err)
	}
}

func TestParseBitwardenErrors(t *testing.T) {
	for _, in := range []string{`{"items": {}}`, ""} {
		if _, _, err := ParseBitwarden([]byte(in)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%q: %v", in, err)
		}
	}
}
