package otp

import (
	"testing"
	"time"

	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// BenchmarkVerify verifies a wrong code with a window of one step either
// side, the worst case: every step in the window is computed. The pquerna
// sub-benchmark is the baseline, measured in the same run.
func BenchmarkVerify(b *testing.B) {
	secret := rfc6238Seeds[SHA1]
	now := time.Unix(1700000000, 0)
	const wrong = "000000"

	b.Run("latchkey", func(b *testing.B) {
		g, err := NewGenerator(secret, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := g.Verify(wrong, now, 1); ok {
			b.Fatal("the wrong code matched; pick another")
		}
		b.ReportAllocs()
		for b.Loop() {
			g.Verify(wrong, now, 1)
		}
	})
	b.Run("pquerna", func(b *testing.B) {
		key := EncodeSecret(secret)
		opts := totp.ValidateOpts{Period: 30, Skew: 1, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1}
		if ok, _ := totp.ValidateCustom(wrong, key, now, opts); ok {
			b.Fatal("the wrong code matched; pick another")
		}
		b.ReportAllocs()
		for b.Loop() {
			totp.ValidateCustom(wrong, key, now, opts)
		}
	})
}

// BenchmarkCode computes one code with a prepared generator.
func BenchmarkCode(b *testing.B) {
	g, _ := NewGenerator(rfc6238Seeds[SHA1], Options{})
	buf := make([]byte, 0, MaxDigits)
	b.ReportAllocs()
	var c uint64
	for b.Loop() {
		buf = g.AppendCode(buf[:0], c)
		c++
	}
}
