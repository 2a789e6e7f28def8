package otp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"hash"
	"math/rand/v2"
	"testing"
)

func refHMAC(newHash func() hash.Hash, key []byte, counter uint64) []byte {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	h := hmac.New(newHash, key)
	h.Write(msg[:])
	return h.Sum(nil)
}

// TestMACFastPath checks that the standard hashes take the fast path and
// that it agrees with crypto/hmac for keys shorter than, equal to and
// longer than a hash block.
func TestMACFastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		for _, n := range []int{1, 10, 20, 63, 64, 65, 127, 128, 129, 300, MaxSecretSize} {
			key := make([]byte, n)
			for i := range key {
				key[i] = byte(r.Uint32())
			}
			m := newMAC(alg.Hash(), key)
			if m.plain != nil {
				t.Fatalf("%s with a %d-byte key fell back to crypto/hmac", alg, n)
			}
			for range 20 {
				c := r.Uint64()
				if got, want := m.compute(c), refHMAC(alg.Hash(), key, c); !bytes.Equal(got, want) {
					t.Fatalf("%s, %d-byte key, counter %d: %x, want %x", alg, n, c, got, want)
				}
			}
		}
	}
}

// opaqueHash hides the marshaling methods of SHA-1, forcing the plain path.
type opaqueHash struct{ hash.Hash }

func TestMACPlainPath(t *testing.T) {
	newHash := func() hash.Hash { return opaqueHash{sha1.New()} }
	key := []byte("12345678901234567890")
	m := newMAC(newHash, key)
	if m.plain == nil {
		t.Fatal("a hash without marshaling took the fast path")
	}
	for c := uint64(0); c < 10; c++ {
		if got, want := m.compute(c), refHMAC(sha1.New, key, c); !bytes.Equal(got, want) {
			t.Fatalf("counter %d: %x, want %x", c, got, want)
		}
	}
}
