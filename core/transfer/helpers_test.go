package transfer

import (
	"slices"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// at is the instant codes are compared at.
var at = time.Unix(1700000000, 0)

func secret(t testing.TB, b32 string) otp.Secret {
	t.Helper()
	s, err := otp.DecodeSecret(b32)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sample returns accounts covering every parameter the formats carry.
func sample(t testing.TB) []Entry {
	t.Helper()
	return []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: secret(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), Digits: 6, Period: 30}, Tags: []string{"work"}},
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "ACME Co", Account: "bob smith", Secret: secret(t, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA"), Algorithm: otp.SHA256, Digits: 8, Period: 30}},
		{Key: otpauth.Key{Type: otp.HOTP, Issuer: "Bank", Account: "carol", Secret: secret(t, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), Algorithm: otp.SHA512, Digits: 6, Period: 30, Counter: 42}, Tags: []string{"money", "work"}},
		{Key: otpauth.Key{Type: otp.TOTP, Account: "no-issuer@example.org", Secret: secret(t, "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"), Digits: 6, Period: 30}},
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "Zoë Ünïcode", Account: "dave", Secret: secret(t, "ONSWG4TFORZWK3DMN5ZXK2LTORUW4ZY"), Digits: 6, Period: 30}},
	}
}

// steamEntry is a Steam Guard account; its secret is the RFC 6238 SHA1
// seed, whose Steam code at 59 s is PV9M4 (see core/otp's vectors).
func steamEntry() Entry {
	return Entry{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: otp.Secret("12345678901234567890"), Digits: 5, Period: 30}, Tags: []string{"games"}}
}

// checkSteam fails unless e is a usable Steam entry giving PV9M4 at 59 s.
func checkSteam(t testing.TB, e *Entry) {
	t.Helper()
	if e.Unsupported != "" || e.Key.Type != otp.Steam {
		t.Fatalf("steam entry %v unsupported %q", describe(e.Key), e.Unsupported)
	}
	g, err := e.Key.Generator()
	if err != nil {
		t.Fatal(err)
	}
	if c := g.At(time.Unix(59, 0)); c != "PV9M4" {
		t.Fatalf("steam code %s, want PV9M4", c)
	}
}

// same reports whether two entry lists hold the same accounts with the
// same codes. With tags false, tags are not compared (formats without
// them).
func same(t testing.TB, got, want []Entry, tags bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := &got[i], &want[i]
		if g.Unsupported != w.Unsupported {
			t.Errorf("entry %d: unsupported %q, want %q", i, g.Unsupported, w.Unsupported)
			continue
		}
		gk, wk := g.Key, w.Key
		if gk.Type != wk.Type || gk.Issuer != wk.Issuer || gk.Account != wk.Account || gk.Algorithm != wk.Algorithm ||
			gk.Digits != wk.Digits || gk.Period != wk.Period || gk.Counter != wk.Counter || !slices.Equal(gk.Secret, wk.Secret) {
			t.Errorf("entry %d: got %+v, want %+v", i, describe(gk), describe(wk))
			continue
		}
		if tags && !slices.Equal(g.Tags, w.Tags) {
			t.Errorf("entry %d: tags %q, want %q", i, g.Tags, w.Tags)
		}
		if w.Unsupported == "" && code(t, &gk) != code(t, &wk) {
			t.Errorf("entry %d: codes differ", i)
		}
	}
}

func describe(k otpauth.Key) []any {
	return []any{k.Type, k.Issuer, k.Account, k.Algorithm, k.Digits, k.Period, k.Counter, len(k.Secret)}
}

func code(t testing.TB, k *otpauth.Key) string {
	t.Helper()
	g, err := k.Generator()
	if err != nil {
		t.Fatalf("%v: %v", k, err)
	}
	if k.Type == otp.HOTP {
		return g.Code(k.Counter)
	}
	return g.At(at)
}

// checkValid is the property every parser's fuzz target asserts: an
// input either fails with no entries or yields entries that are all
// usable or explicitly unsupported.
func checkValid(t *testing.T, entries []Entry, err error) {
	t.Helper()
	if err != nil {
		if entries != nil {
			t.Fatalf("error %v with %d entries", err, len(entries))
		}
		return
	}
	if len(entries) > MaxEntries {
		t.Fatalf("%d entries", len(entries))
	}
	for i := range entries {
		e := &entries[i]
		if e.Unsupported != "" {
			continue
		}
		if _, err := e.Key.Generator(); err != nil {
			t.Fatalf("entry %d is supported but has no generator: %v", i, err)
		}
	}
}
