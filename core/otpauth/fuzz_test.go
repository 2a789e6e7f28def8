package otpauth

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that every key it accepts
// round-trips: Parse(k.String()) == k.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
		"otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=3&digits=8&algorithm=SHA512",
		"otpauth://totp/a%3Ab:c?secret=jbsw%20y3dp&issuer=x%3Ay&period=15",
		"otpauth://totp/%E2%82%AC:%20?secret=JBSWY3DPEHPK3PXP====",
		"otpauth-migration://offline?data=CgA",
		"otpauth://totp/%zz?secret=A",
		"otpauth://steam/Steam:gamer?period=30&digits=5&algorithm=SHA1&secret=JBSWY3DPEHPK3PXP&issuer=Steam",
		"otpauth://totp/Steam:gamer?secret=JBSWY3DPEHPK3PXP&issuer=Steam&encoder=steam",
		"otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=1&encoder=steam",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Parse(s)
		if err != nil {
			return
		}
		k.Warnings = nil
		again, err := Parse(k.String())
		if err != nil {
			t.Fatalf("Parse(%q) failed on our own output %q: %v", s, k.String(), err)
		}
		again.Warnings = nil
		if !reflect.DeepEqual(k, again) {
			t.Fatalf("round trip changed the key:\n%#v\n%#v\nvia %s", k, again, k.String())
		}
	})
}
