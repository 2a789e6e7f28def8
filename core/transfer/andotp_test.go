package transfer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// andotpBackup is a plain andOTP backup with the fields andOTP's
// Entry.toJSON writes (Database/Entry.java in andOTP/andOTP): period for
// TOTP, counter for HOTP, tags, thumbnail and usage counters.
const andotpBackup = `[
  {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "issuer": "GitHub", "label": "alice@example.com", "digits": 6, "type": "TOTP",
   "algorithm": "SHA1", "thumbnail": "Default", "last_used": 1700000000000, "used_frequency": 3, "period": 30, "tags": ["Work"]},
  {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "issuer": "Bank", "label": "carol", "digits": 8, "type": "HOTP",
   "algorithm": "SHA512", "thumbnail": "Default", "last_used": 0, "used_frequency": 0, "counter": 9, "tags": []},
  {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "issuer": "Steam", "label": "gamer", "digits": 5, "type": "STEAM",
   "algorithm": "SHA1", "thumbnail": "Steam", "last_used": 0, "used_frequency": 0, "period": 30, "tags": ["games"]}
]`

func andotpWant() []Entry {
	s := otp.Secret(rfcSecret)
	return []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: s, Digits: 6, Period: 30}, Tags: []string{"Work"}},
		{Key: otpauth.Key{Type: otp.HOTP, Issuer: "Bank", Account: "carol", Secret: s, Algorithm: otp.SHA512, Digits: 8, Period: 30, Counter: 9}},
		{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: s, Digits: 5, Period: 30}, Tags: []string{"games"}},
	}
}

// encryptAndOTP builds an encrypted backup as andOTP's BackupHelper
// writes it: iterations (4 bytes, big-endian), a 12-byte salt, a 12-byte
// nonce and the AES-GCM ciphertext with its tag, the key
// PBKDF2-HMAC-SHA1(password, salt, iterations, 256 bits).
func encryptAndOTP(t testing.TB, plain, password string, iter int) []byte {
	t.Helper()
	salt, nonce := make([]byte, 12), make([]byte, 12)
	rand.Read(salt)
	rand.Read(nonce)
	key, err := pbkdf2.Key(sha1.New, password, salt, iter, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(block)
	out := binary.BigEndian.AppendUint32(nil, uint32(iter))
	out = append(out, salt...)
	out = append(out, nonce...)
	return g.Seal(out, nonce, []byte(plain), nil)
}

func TestParseAndOTPPlain(t *testing.T) {
	if f, err := Detect([]byte(andotpBackup)); f != FormatAndOTP {
		t.Fatalf("detected %q, %v", f, err)
	}
	got, err := ParseAndOTP([]byte(andotpBackup), nil)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, andotpWant(), true)
	checkSteam(t, &got[2])
	if got, err := ParseAndOTP([]byte("[]"), nil); err != nil || len(got) != 0 {
		t.Fatalf("empty backup: %d %v", len(got), err)
	}
}

func TestParseAndOTPEncrypted(t *testing.T) {
	in := encryptAndOTP(t, andotpBackup, "correct horse", 4321)
	if f, err := Detect(in); f != FormatAndOTP {
		t.Fatalf("detected %q, %v", f, err)
	}
	got, err := ParseAndOTP(in, pw("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, andotpWant(), true)
	if _, err := ParseAndOTP(in, pw("wrong horse")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := Read(in, Options{}); !errors.Is(err, ErrNeedPassphrase) {
		t.Fatalf("no password: %v", err)
	}
	// A damaged file says so before asking for a password.
	if _, err := ParseAndOTP(in[:20], pw("x")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("short file: %v", err)
	}
}

func TestParseAndOTPErrors(t *testing.T) {
	tests := []struct{ name, in, mentions string }{
		{"bad secret", `[{"secret": "18", "issuer": "X", "label": "a", "type": "TOTP"}]`, "entry 1 (X:a): secret"},
		{"hotp without counter", `[{"secret": "GEZDGNBV", "issuer": "X", "label": "a", "type": "HOTP"}]`, "without a counter"},
		{"not a list", `[{"secret": 1}]`, "wrong type"},
		{"not json", `[{`, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAndOTP([]byte(tt.in), pw("x"))
			if err == nil || got != nil || !strings.Contains(err.Error(), tt.mentions) {
				t.Fatalf("got %d entries, err %v; want one mentioning %q", len(got), err, tt.mentions)
			}
		})
	}
	got, err := ParseAndOTP([]byte(`[{"secret": "GEZDGNBV", "issuer": "X", "label": "a", "type": "MOTP"}]`), nil)
	if err != nil || got[0].Unsupported == "" {
		t.Fatalf("motp: %v %+v", err, got)
	}
}
