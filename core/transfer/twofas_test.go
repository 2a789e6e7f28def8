package transfer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// twofasServices is a services array as 2FAS writes it (schema 4).
const twofasServices = `[
  {"name": "GitHub", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "updatedAt": 1704874073731,
   "otp": {"label": "GitHub:alice@example.com", "account": "alice@example.com", "issuer": "GitHub", "digits": 6, "period": 30,
           "algorithm": "SHA1", "tokenType": "TOTP", "source": "Link"},
   "order": {"position": 0}, "groupId": "g1"},
  {"name": "Bank", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "updatedAt": 1704874073731,
   "otp": {"label": "", "account": "carol", "digits": 8, "period": 30, "algorithm": "SHA256", "tokenType": "HOTP", "counter": 9, "source": "Manual"},
   "order": {"position": 1}},
  {"name": "Steam", "secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
   "otp": {"account": "gamer", "digits": 5, "period": 30, "algorithm": "SHA1", "tokenType": "STEAM"}, "order": {"position": 2}}
]`

func twofasWant() []Entry {
	s := otp.Secret(rfcSecret)
	return []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: s, Digits: 6, Period: 30}, Tags: []string{"Work"}},
		{Key: otpauth.Key{Type: otp.HOTP, Issuer: "Bank", Account: "carol", Secret: s, Algorithm: otp.SHA256, Digits: 8, Period: 30, Counter: 9}},
		{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: s, Digits: 5, Period: 30}},
	}
}

const twofasGroups = `[{"id": "g1", "name": "Work", "isExpanded": true}]`

func TestParseTwoFASPlain(t *testing.T) {
	in := `{"services": ` + twofasServices + `, "groups": ` + twofasGroups + `, "updatedAt": 1, "schemaVersion": 4, "appOrigin": "android"}`
	if f, _ := Detect([]byte(in)); f != FormatTwoFAS {
		t.Fatalf("detected %q", f)
	}
	got, err := ParseTwoFAS([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, twofasWant(), true)
	checkSteam(t, &got[2])
}

// encryptTwoFAS builds an encrypted backup as 2FAS describes it:
// servicesEncrypted = base64(ciphertext+tag):base64(salt):base64(iv), the
// key PBKDF2-HMAC-SHA256(password, salt, 10000 iterations, 32 bytes),
// AES-GCM with a 12-byte iv.
func encryptTwoFAS(t testing.TB, services, password string) []byte {
	t.Helper()
	salt := make([]byte, 256)
	iv := make([]byte, 12)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(sha256.New, password, salt, 10000, 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(block)
	ct := g.Seal(nil, iv, []byte(services), nil)
	b64 := base64.StdEncoding.EncodeToString
	v := map[string]any{
		"services": []any{}, "groups": json.RawMessage(twofasGroups), "updatedAt": 1708958781890, "schemaVersion": 4,
		"appVersionCode": 5000017, "appVersionName": "5.3.5", "appOrigin": "android",
		"servicesEncrypted": b64(ct) + ":" + b64(salt) + ":" + b64(iv),
	}
	out, _ := json.Marshal(v)
	return out
}

func TestParseTwoFASEncrypted(t *testing.T) {
	in := encryptTwoFAS(t, twofasServices, "example.com")
	got, err := ParseTwoFAS(in, pw("example.com"))
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, twofasWant(), true)
	if _, err := ParseTwoFAS(in, pw("example.org")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := Read(in, Options{}); !errors.Is(err, ErrNeedPassphrase) {
		t.Fatalf("no password: %v", err)
	}
}

func TestParseTwoFASErrors(t *testing.T) {
	tests := []struct{ name, in, mentions string }{
		{"not json", `{"services": [`, "invalid JSON"},
		{"two parts", `{"servicesEncrypted": "AAAA:AAAA"}`, "data:salt:iv"},
		{"bad base64", `{"servicesEncrypted": "!!:AAAA:AAAA"}`, "not base64"},
		{"short iv", `{"servicesEncrypted": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:AAAA:AAAA"}`, "bad salt, iv"},
		{"bad secret", `{"services": [{"name": "X", "secret": "18", "otp": {"account": "a"}}]}`, "service 1 (X:a): secret"},
		{"wrong type", `{"services": {"name": 1}}`, "wrong type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTwoFAS([]byte(tt.in), pw("x"))
			if err == nil || got != nil || !strings.Contains(err.Error(), tt.mentions) {
				t.Fatalf("got %d entries, err %v; want one mentioning %q", len(got), err, tt.mentions)
			}
		})
	}
}
