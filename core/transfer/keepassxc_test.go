package transfer

import (
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// keepassxcCSV has the columns KeePassXC's CsvExporter writes, every
// value quoted, and TOTP values in the two forms Totp::writeSettings
// stores (src/core/Totp.cpp in keepassxreboot/keepassxc): an otpauth URI
// (with encoder=steam for Steam) and the KeeOtp form key=...&size=...&
// step=...[&otpHashMode=...].
const keepassxcCSV = `"Group","Title","Username","Password","URL","Notes","TOTP","Icon","Last Modified","Created"
"Root/Work","GitHub","alice@example.com","pw","https://github.com","","otpauth://totp/GitHub:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=30&digits=6&issuer=GitHub","0","2024-01-01T10:00:00Z","2024-01-01T10:00:00Z"
"Root","Bank","carol","pw","","a ""quoted"" note
on two lines","key=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&size=8&step=60&otpHashMode=SHA256","0","2024-01-01T10:00:00Z","2024-01-01T10:00:00Z"
"Root","Steam","gamer","pw","","","otpauth://totp/Steam:gamer?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=30&digits=5&issuer=Steam&encoder=steam","0","2024-01-01T10:00:00Z","2024-01-01T10:00:00Z"
"Root","Mail","dave","pw","","","","0","2024-01-01T10:00:00Z","2024-01-01T10:00:00Z"
"Root","Odd","erin","pw","","","key=GEZDGNBV&size=nine","0","2024-01-01T10:00:00Z","2024-01-01T10:00:00Z"
`

func TestParseKeePassXC(t *testing.T) {
	if f, err := Detect([]byte(keepassxcCSV)); f != FormatKeePassXC {
		t.Fatalf("detected %q, %v", f, err)
	}
	res, err := Read([]byte(keepassxcCSV), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := otp.Secret(rfcSecret)
	want := []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: s, Digits: 6, Period: 30}, Tags: []string{"Work"}},
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "Bank", Account: "carol", Secret: s, Algorithm: otp.SHA256, Digits: 8, Period: 60}},
		{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: s, Digits: 5, Period: 30}},
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "Odd", Account: "erin", Digits: 6, Period: 30}, Unsupported: "size nine is not a number"},
	}
	same(t, res.Entries, want, true)
	checkSteam(t, &res.Entries[2])
	if res.NoOTP != 1 {
		t.Errorf("%d entries without a code, want 1", res.NoOTP)
	}
}
