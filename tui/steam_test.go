package tui

import (
	"strings"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/tui/components/accounts"
)

// TestSteamRow: a Steam Guard account shows its 5-character code (the
// RFC 6238 SHA1 seed at 1111111109 s is PY4YB; the next step's code at
// 1111111110 s, shown in the last seconds, is 5PP3V), ungrouped, with a
// countdown.
func TestSteamRow(t *testing.T) {
	c := &clock{t: time.Unix(rfcTime, 0)}
	cm := testCommon(c, 80, 10)
	l := accounts.New(cm)
	l.SetSize(80, 10)
	g, err := otp.NewGenerator(mustSecret(t, seedSHA1), otp.Options{Steam: true})
	if err != nil {
		t.Fatal(err)
	}
	l.SetItems([]accounts.Item{{ID: "s", Issuer: "Steam", Name: "gamer", Type: otp.Steam, Digits: otp.SteamDigits, Period: 30, Gen: g}})
	v := l.View()
	for _, want := range []string{"PY4YB", "→ 5PP3V", " 1s"} {
		if !strings.Contains(v, want) {
			t.Errorf("row lacks %q:\n%s", want, v)
		}
	}
	if it, _ := l.Selected(); it.Code() != "PY4YB" {
		t.Errorf("code to copy %q", it.Code())
	}
}
