package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/testenv"
)

// fill adds n accounts to a fresh store in home.
func fill(b *testing.B, o Options, n int) {
	b.Helper()
	s := open(b, o)
	items := make([]NewAccount, n)
	for i := range items {
		items[i] = NewAccount{Account{Issuer: fmt.Sprintf("Issuer%03d", i), Name: "user@example.com"}, secret(b)}
	}
	if _, err := s.AddMany(context.Background(), items); err != nil {
		b.Fatal(err)
	}
}

// openAndCodes opens the store and computes the code of every account,
// as a UI does at start.
func openAndCodes(b *testing.B, o Options, n int) {
	ctx := context.Background()
	s, err := Open(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	as, err := s.List(ctx)
	if err != nil {
		b.Fatal(err)
	}
	secs, err := s.Secrets(ctx)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	codes := 0
	for _, a := range as {
		g, err := otp.NewGenerator(secs[a.ID], a.Options())
		if err != nil {
			b.Fatal(err)
		}
		if len(g.At(now)) == a.Digits {
			codes++
		}
	}
	if codes != n {
		b.Fatalf("%d codes", codes)
	}
	s.Close()
}

// BenchmarkOpenAllCodes is the time to open a store of 200 accounts and
// compute all 200 codes: on the real Secret Service (secrets fetched
// concurrently), and on the file store at age's default work factor.
func BenchmarkOpenAllCodes(b *testing.B) {
	const n = 200
	b.Run("keyring", func(b *testing.B) {
		testenv.Env(b, "LATCHKEY_TEST_SECRET_SERVICE")
		o := Options{Home: b.TempDir(), Backend: Keyring}
		fill(b, o, n)
		for b.Loop() {
			openAndCodes(b, o, n)
		}
		b.StopTimer()
		s := open(b, o)
		cleanupKeyring(nil, s)
	})
	b.Run("file", func(b *testing.B) {
		o := Options{Home: b.TempDir(), Backend: File,
			Passphrase: func() ([]byte, error) { return []byte(testPass), nil }}
		fill(b, o, n)
		for b.Loop() {
			openAndCodes(b, o, n)
		}
	})
}

// BenchmarkUnlock is the file store's unlock cost: decrypting the vault
// under age's default scrypt work factor (2^18), beside 2^16 for scale.
func BenchmarkUnlock(b *testing.B) {
	for _, wf := range []int{0, 16} {
		name := "default-logN18"
		if wf != 0 {
			name = fmt.Sprintf("logN%d", wf)
		}
		b.Run(name, func(b *testing.B) {
			plain, _ := encodeVault(nil, nil, 0)
			data, err := encrypt(plain, []byte(testPass), wf)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := decrypt(data, []byte(testPass), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNextHOTP is a HOTP code with its counter persisted first
// (lock, rewrite, fsync, rename) on the keyring backend's metadata.
func BenchmarkNextHOTP(b *testing.B) {
	o := opts(b.TempDir(), Keyring, newMem())
	s := open(b, o)
	a, err := s.Add(context.Background(), Account{Name: "h", Type: otp.HOTP}, secret(b), false)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := s.NextHOTP(context.Background(), a.ID); err != nil {
			b.Fatal(err)
		}
	}
}
