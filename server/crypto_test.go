package server

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"latchkey/core/otp"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestKeyringSealOpen(t *testing.T) {
	kr, err := NewKeyring(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	secret := otp.Secret("0123456789abcdefghij")
	sealed, err := kr.Seal(secret, "alice", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) || bytes.Contains(sealed, []byte(secret.Base32())) {
		t.Fatal("sealed secret contains the plaintext")
	}
	again, _ := kr.Seal(secret, "alice", "c1")
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals are identical: nonce reused")
	}
	got, err := kr.Open(sealed, "alice", "c1")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %v, %v", got, err)
	}
	tests := []struct {
		name     string
		sealed   []byte
		user, id string
		want     error
	}{
		{"other user", sealed, "bob", "c1", ErrOpen},
		{"other credential", sealed, "alice", "c2", ErrOpen},
		{"user/id boundary", sealed, "alice\x00c", "1", ErrOpen},
		{"truncated", sealed[:20], "alice", "c1", ErrOpen},
		{"flipped bit", flip(sealed, 30), "alice", "c1", ErrOpen},
		{"unknown key", flip(sealed, 2), "alice", "c1", ErrUnknown},
		{"empty", nil, "alice", "c1", ErrOpen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := kr.Open(tt.sealed, tt.user, tt.id); !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func TestKeyringRotation(t *testing.T) {
	old, _ := NewKeyring(testKey(1))
	sealed, _ := old.Seal(otp.Secret("0123456789abcdefghij"), "alice", "c1")
	both, _ := NewKeyring(testKey(2), testKey(1))
	resealed, err := both.Reseal(sealed, "alice", "c1")
	if err != nil {
		t.Fatal(err)
	}
	newOnly, _ := NewKeyring(testKey(2))
	if _, err := newOnly.Open(resealed, "alice", "c1"); err != nil {
		t.Fatalf("new key cannot open resealed secret: %v", err)
	}
	if _, err := newOnly.Open(sealed, "alice", "c1"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("old ciphertext under new key: %v, want ErrUnknown", err)
	}
}

func TestKeyFiles(t *testing.T) {
	if _, err := NewKeyring(make([]byte, 16)); !errors.Is(err, ErrKey) {
		t.Fatalf("16-byte key: %v", err)
	}
	for _, s := range []string{"", "not base64!", "AAAA", " " + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=" + "\n"} {
		k, err := ParseKey(s)
		if (err == nil) != (len(k) == KeySize) {
			t.Fatalf("ParseKey(%q) = %d bytes, %v", s, len(k), err)
		}
	}
	path := filepath.Join(t.TempDir(), "master.key")
	key, _ := NewKey()
	if err := WriteKeyFile(path, key); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadKeyFile(path)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("ReadKeyFile = %v", err)
	}
}
