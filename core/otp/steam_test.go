package otp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestSteamVectors checks Steam Guard codes against values computed
// independently from the public algorithm (Python's hmac module): the
// RFC 6238 Appendix B SHA1 seed and times, whose 31-bit values are the
// RFC's 8-digit codes (1094287082 at 59 s gives "94287082"), written in
// base 26 over SteamAlphabet, least significant first.
func TestSteamVectors(t *testing.T) {
	tests := []struct {
		unix  int64
		value uint32 // the 31-bit truncated value
		want  string
	}{
		{59, 1094287082, "PV9M4"},
		{1111111109, 907081804, "PY4YB"},
		{1111111111, 414050471, "5PP3V"},
		{1234567890, 689005924, "VHHQY"},
		{2000000000, 2069279037, "9N776"},
		{20000000000, 1465353130, "R5DMB"},
	}
	g, err := NewGenerator(rfc6238Seeds[SHA1], Options{Steam: true})
	if err != nil {
		t.Fatal(err)
	}
	if o := g.Options(); o.Digits != SteamDigits || o.Period != 30 || o.Algorithm != SHA1 {
		t.Fatalf("defaults %+v", o)
	}
	for _, tt := range tests {
		at := time.Unix(tt.unix, 0)
		if got := g.At(at); got != tt.want {
			t.Errorf("At(%d) = %s, want %s", tt.unix, got, tt.want)
		}
		if got := g.Value(uint64(tt.unix / 30)); got != tt.value%steamModulus {
			t.Errorf("Value(%d) = %d, want %d", tt.unix/30, got, tt.value%steamModulus)
		}
		for _, in := range []string{tt.want, strings.ToLower(tt.want), " " + tt.want + "\n"} {
			if step, ok := g.Verify(in, at, 0); !ok || step != uint64(tt.unix/30) {
				t.Errorf("Verify(%q) = %d, %v", in, step, ok)
			}
		}
		if step, ok := g.Verify(tt.want, at.Add(30*time.Second), 1); !ok || step != uint64(tt.unix/30) {
			t.Errorf("Verify one step later = %d, %v", step, ok)
		}
	}
	// A real Steam shared_secret (base64 "cnOgv/KdpLoP6Nbh0GMkXkPXALQ=").
	sec, _ := DecodeSecret("OJZ2BP7STWSLUD7I23Q5AYZELZB5OAFU")
	code, err := TOTPCode(sec, time.Unix(1700000000, 0), Options{Steam: true})
	if err != nil || code != "X45RP" {
		t.Errorf("TOTPCode = %s, %v; want X45RP", code, err)
	}
}

func TestSteamRefuses(t *testing.T) {
	g, _ := NewGenerator(rfc6238Seeds[SHA1], Options{Steam: true})
	at := time.Unix(59, 0)
	for _, in := range []string{"", "PV9M", "PV9M44", "PV9M0", "PV 9M4", "PV9M1", "94287", "PV9M4\x00", "ＰV9M4"} {
		if _, ok := g.Verify(in, at, 2); ok {
			t.Errorf("Verify(%q) accepted", in)
		}
	}
	if _, err := NewGenerator(rfc6238Seeds[SHA1], Options{Steam: true, Digits: 6}); !errors.Is(err, ErrDigits) {
		t.Errorf("6-character steam: %v", err)
	}
	// Decimal generators are unchanged by the Steam code path.
	d, _ := NewGenerator(rfc6238Seeds[SHA1], Options{Digits: 8})
	if got := d.At(at); got != "94287082" {
		t.Errorf("decimal code %s", got)
	}
	if Group("PV9M4") != "PV9M4" {
		t.Error("Group changed a Steam code")
	}
}

func TestSteamType(t *testing.T) {
	ty, err := ParseType(" Steam ")
	if err != nil || ty != Steam || ty.String() != "steam" || !ty.TimeBased() || HOTP.TimeBased() || !TOTP.TimeBased() {
		t.Fatalf("ParseType(steam) = %v, %v", ty, err)
	}
	b, err := Steam.MarshalText()
	if err != nil || string(b) != "steam" {
		t.Fatalf("MarshalText = %s, %v", b, err)
	}
	var back Type
	if err := back.UnmarshalText(b); err != nil || back != Steam {
		t.Fatalf("UnmarshalText = %v, %v", back, err)
	}
	if _, err := Type(3).MarshalText(); !errors.Is(err, ErrType) {
		t.Fatalf("Type(3): %v", err)
	}
}
