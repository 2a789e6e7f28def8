package store

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkDecodeAccounts is reading accounts.json with 200 accounts, the
// part of `latchkey code QUERY` that is not D-Bus, beside encoding/json
// on the same bytes.
func BenchmarkDecodeAccounts(b *testing.B) {
	as := make([]Account, 200)
	for i := range as {
		as[i] = Account{ID: fmt.Sprintf("%016x", i+1), Issuer: fmt.Sprintf("Issuer%03d", i), Name: "user@example.com",
			Digits: 6, Period: 30, Order: i, Created: time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)}
	}
	data, err := encodeAccounts(as)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("latchkey", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := decodeAccounts(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The baseline: encoding/json, which decodeAccounts falls back to.
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var f accountsFile
			if err := json.Unmarshal(data, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
