package otp

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary codes, times and windows to Verify: it must
// never panic, accept only well-formed codes of the right length, and
// accept every code it generates itself.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("12345678901234567890"), "287082", int64(59), 1, uint8(0), 6)
	f.Add([]byte("k"), " 123 456 ", int64(-1), 2, uint8(1), 8)
	f.Add([]byte("12345678901234567890"), "１２３４５６", int64(1<<40), -1, uint8(2), 7)
	// Bit 2 of alg selects Steam codes.
	f.Add([]byte("12345678901234567890"), "pv9m4", int64(59), 0, uint8(4), 0)
	f.Add([]byte("12345678901234567890"), " PV9M4 ", int64(89), 1, uint8(4), 5)
	f.Fuzz(func(t *testing.T, secret []byte, code string, unix int64, window int, alg uint8, digits int) {
		steam := alg&4 != 0
		g, err := NewGenerator(secret, Options{Algorithm: Algorithm(alg % 3), Digits: digits, Steam: steam})
		if err != nil {
			return
		}
		at := time.Unix(unix, 0)
		if steam {
			if step, ok := g.Verify(code, at, window); ok {
				if c := g.Code(step); !strings.EqualFold(strings.TrimSpace(code), c) {
					t.Fatalf("accepted %q for step %d whose code is %s", code, step, c)
				}
			}
			own := g.At(at)
			if len(own) != SteamDigits || strings.Trim(own, SteamAlphabet) != "" {
				t.Fatalf("steam code %q", own)
			}
			if _, ok := g.Verify(own, at, window); !ok {
				t.Fatalf("own code %s refused", own)
			}
			return
		}
		if step, ok := g.Verify(code, at, window); ok {
			n := 0
			for _, c := range []byte(code) {
				if c >= '0' && c <= '9' {
					n++
				}
			}
			if n != g.Options().Digits {
				t.Fatalf("accepted %q with %d digits", code, n)
			}
			if c := g.Code(step); !bytes.Contains(stripSep(code), []byte(c)) {
				t.Fatalf("accepted %q for step %d whose code is %s", code, step, c)
			}
		}
		own := g.At(at)
		if _, ok := g.Verify(own, at, window); !ok {
			t.Fatalf("own code %s refused", own)
		}
	})
}

func stripSep(s string) []byte {
	var out []byte
	for _, c := range []byte(s) {
		if c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return out
}

// FuzzDecodeSecret checks that decoding never panics and that whatever
// decodes re-encodes to something that decodes to the same bytes.
func FuzzDecodeSecret(f *testing.F) {
	for _, s := range []string{"GEZDGNBVGY3TQOJQ", "gezd gnbv", "MZXW6===", "A", "GEZDGNB1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeSecret(s)
		if err != nil {
			return
		}
		again, err := DecodeSecret(EncodeSecret(b))
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip of %q: %x vs %x (%v)", s, []byte(again), []byte(b), err)
		}
	})
}
