package transfer

import (
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// protonCSV has the columns of Proton Pass's CSV export (ProtonPassCSVItem
// in ProtonMail/WebClients packages/pass/lib/import/providers/
// protonpass.csv.types.ts).
const protonCSV = `type,name,url,email,username,password,note,totp,createTime,modifyTime,vault
login,GitHub,https://github.com,alice@example.com,,pw,,otpauth://totp/GitHub:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30,2024-01-01T10:00:00.000Z,2024-01-01T10:00:00.000Z,Personal
login,Bank,https://bank.example,,carol,pw,,otpauth://totp/carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA256&digits=8&period=60,2024-01-01T10:00:00.000Z,2024-01-01T10:00:00.000Z,Work
login,Mail,,dave@example.com,,pw,,,2024-01-01T10:00:00.000Z,2024-01-01T10:00:00.000Z,Personal
note,Wifi,,,,,"the key, written down",,2024-01-01T10:00:00.000Z,2024-01-01T10:00:00.000Z,Personal
`

// protonJSON is the same vault as the unencrypted JSON export (data.json),
// in the layout KeePassXC's ProtonPassReader reads (src/format/
// ProtonPassReader.cpp): vaults by share id, items with data.type,
// data.metadata, data.content.totpUri and extra fields of type totp; a
// trashed item (state 2) and an alias without a code.
const protonJSON = `{"version": "1.17.0", "userId": "u", "encrypted": false, "vaults": {
  "share2": {"name": "Work", "description": "", "items": [
    {"itemId": "b", "shareId": "share2", "state": 1, "pinned": false, "createTime": 1704103200, "modifyTime": 1704103200,
     "data": {"metadata": {"name": "Bank", "note": "", "itemUuid": "x"}, "extraFields": [], "type": "login",
              "content": {"itemEmail": "", "itemUsername": "carol", "password": "pw", "urls": ["https://bank.example"],
                          "totpUri": "otpauth://totp/carol?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA256&digits=8&period=60", "passkeys": []}}},
    {"itemId": "t", "shareId": "share2", "state": 2,
     "data": {"metadata": {"name": "Old"}, "extraFields": [], "type": "login",
              "content": {"itemEmail": "", "itemUsername": "old", "totpUri": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}}}
  ]},
  "share1": {"name": "Personal", "description": "", "items": [
    {"itemId": "a", "shareId": "share1", "state": 1,
     "data": {"metadata": {"name": "GitHub", "note": ""}, "type": "login",
              "extraFields": [{"fieldName": "Backup 2FA", "type": "totp", "data": {"totpUri": "JBSWY3DPEHPK3PXP"}}],
              "content": {"itemEmail": "alice@example.com", "itemUsername": "", "password": "pw", "urls": [],
                          "totpUri": "otpauth://totp/GitHub:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30"}}},
    {"itemId": "m", "shareId": "share1", "state": 1,
     "data": {"metadata": {"name": "Mail"}, "extraFields": [], "type": "login", "content": {"itemEmail": "dave@example.com", "totpUri": ""}}},
    {"itemId": "n", "shareId": "share1", "state": 1,
     "data": {"metadata": {"name": "alias"}, "extraFields": [], "type": "alias", "content": {}}}
  ]}
}}`

func TestParseProtonPass(t *testing.T) {
	s := otp.Secret(rfcSecret)
	github := Entry{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: s, Digits: 6, Period: 30}, Tags: []string{"Personal"}}
	bank := Entry{Key: otpauth.Key{Type: otp.TOTP, Issuer: "Bank", Account: "carol", Secret: s, Algorithm: otp.SHA256, Digits: 8, Period: 60}, Tags: []string{"Work"}}
	extra := Entry{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: secret(t, "JBSWY3DPEHPK3PXP"), Digits: 6, Period: 30}, Tags: []string{"Personal"}}
	trashed := Entry{Key: otpauth.Key{Type: otp.TOTP, Issuer: "Old", Account: "old", Digits: 6, Period: 30}, Tags: []string{"Work"}, Unsupported: "it is in Proton Pass's trash"}
	tests := []struct {
		name, in string
		want     []Entry
	}{
		{"csv", protonCSV, []Entry{github, bank}},
		{"json", protonJSON, []Entry{github, extra, bank, trashed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, err := Detect([]byte(tt.in)); f != FormatProton {
				t.Fatalf("detected %q, %v", f, err)
			}
			res, err := Read([]byte(tt.in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			same(t, res.Entries, tt.want, true)
			if res.NoOTP != 1 {
				t.Errorf("%d logins without a code, want 1", res.NoOTP)
			}
		})
	}
}
