package transfer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/scrypt"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// aegisPlainDB is a version 3 database as Aegis documents it, with one
// entry of each type and a group.
const aegisPlainDB = `{
  "version": 3,
  "entries": [
    {"type": "totp", "uuid": "01234567-89ab-4def-8123-456789abcdef", "name": "alice@example.com", "issuer": "GitHub",
     "note": "", "favorite": false, "icon": null, "groups": ["5e1f0bd2-0000-4000-8000-000000000001"],
     "info": {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "algo": "SHA1", "digits": 6, "period": 30}},
    {"type": "hotp", "uuid": "11234567-89ab-4def-8123-456789abcdef", "name": "carol", "issuer": "Bank",
     "note": "", "favorite": true, "icon": null, "groups": [],
     "info": {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "algo": "SHA512", "digits": 8, "counter": 9}},
    {"type": "steam", "uuid": "21234567-89ab-4def-8123-456789abcdef", "name": "gamer", "issuer": "Steam",
     "note": "", "favorite": false, "icon": null,
     "info": {"secret": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "algo": "SHA1", "digits": 5, "period": 30}},
    {"type": "motp", "uuid": "31234567-89ab-4def-8123-456789abcdef", "name": "m", "issuer": "Old",
     "note": "", "favorite": false, "icon": null,
     "info": {"secret": "0123456789abcdef", "algo": "MD5", "digits": 6, "period": 10, "pin": "1234"}}
  ],
  "groups": [{"uuid": "5e1f0bd2-0000-4000-8000-000000000001", "name": "Work"}]
}`

func aegisWant() []Entry {
	s := otp.Secret(rfcSecret)
	return []Entry{
		{Key: otpauth.Key{Type: otp.TOTP, Issuer: "GitHub", Account: "alice@example.com", Secret: s, Digits: 6, Period: 30}, Tags: []string{"Work"}},
		{Key: otpauth.Key{Type: otp.HOTP, Issuer: "Bank", Account: "carol", Secret: s, Algorithm: otp.SHA512, Digits: 8, Period: 30, Counter: 9}},
		{Key: otpauth.Key{Type: otp.Steam, Issuer: "Steam", Account: "gamer", Secret: s, Digits: 5, Period: 30}},
		{Key: otpauth.Key{Issuer: "Old", Account: "m"}, Unsupported: "motp entries are not supported"},
	}
}

func TestParseAegisPlain(t *testing.T) {
	vault := `{"version": 1, "header": {"slots": null, "params": null}, "db": ` + aegisPlainDB + `}`
	got, err := ParseAegis([]byte(vault), nil)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, aegisWant(), true)
	checkSteam(t, &got[2])
}

func TestParseAegisVersion2Group(t *testing.T) {
	vault := `{"version": 1, "header": {"slots": null, "params": null}, "db": {"version": 2, "entries": [
	  {"type": "totp", "uuid": "x", "name": "GitHub:alice", "issuer": "GitHub", "group": "Personal",
	   "info": {"secret": "JBSWY3DPEHPK3PXP", "algo": "SHA256", "digits": 7, "period": 60}}]}}`
	got, err := ParseAegis([]byte(vault), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key.Account != "alice" || got[0].Key.Digits != 7 || got[0].Key.Period != 60 || got[0].Tags[0] != "Personal" {
		t.Fatalf("got %+v tags %v", describe(got[0].Key), got[0].Tags)
	}
}

// encryptAegis builds an encrypted vault as Aegis documents it: a random
// master key encrypts the db with AES-256-GCM (nonce and tag in
// header.params); each password slot wraps the master key with
// AES-256-GCM under scrypt(password, salt, N, r=8, p=1); Aegis uses
// N=2^15, smaller values keep the tests fast under the race detector.
func encryptAegis(t testing.TB, n int, db string, passwords ...string) []byte {
	t.Helper()
	master := make([]byte, 32)
	rand.Read(master)
	seal := func(key, plain []byte) (ct, nonce, tag []byte) {
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := cipher.NewGCM(block)
		nonce = make([]byte, 12)
		rand.Read(nonce)
		out := g.Seal(nil, nonce, plain, nil)
		return out[:len(out)-16], nonce, out[len(out)-16:]
	}
	type params struct {
		Nonce string `json:"nonce"`
		Tag   string `json:"tag"`
	}
	var slots []map[string]any
	slots = append(slots, map[string]any{"type": 2, "uuid": "biometric", "key": "00", "key_params": params{"00", "00"}})
	for _, pw := range passwords {
		salt := make([]byte, 32)
		rand.Read(salt)
		kek, err := scrypt.Key([]byte(pw), salt, n, 8, 1, 32)
		if err != nil {
			t.Fatal(err)
		}
		ct, nonce, tag := seal(kek, master)
		slots = append(slots, map[string]any{
			"type": 1, "uuid": "slot", "key": hex.EncodeToString(ct),
			"key_params": params{hex.EncodeToString(nonce), hex.EncodeToString(tag)},
			"n":          n, "r": 8, "p": 1, "salt": hex.EncodeToString(salt), "repaired": true,
		})
	}
	ct, nonce, tag := seal(master, []byte(db))
	v := map[string]any{
		"version": 1,
		"header":  map[string]any{"slots": slots, "params": params{hex.EncodeToString(nonce), hex.EncodeToString(tag)}},
		"db":      base64.StdEncoding.EncodeToString(ct),
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pw(s string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(s), nil }
}

func TestParseAegisEncrypted(t *testing.T) {
	// Aegis's own parameters, once.
	got, err := ParseAegis(encryptAegis(t, 32768, aegisPlainDB, "correct horse"), pw("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, aegisWant(), true)

	// Two password slots: either opens the vault.
	vault := encryptAegis(t, 1024, aegisPlainDB, "first password", "correct horse")
	if got, err = ParseAegis(vault, pw("correct horse")); err != nil {
		t.Fatal(err)
	}
	same(t, got, aegisWant(), true)

	if _, err := ParseAegis(vault, pw("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := ParseAegis(vault, nil); !errors.Is(err, ErrNeedPassphrase) {
		t.Fatalf("no password: %v", err)
	}
	// Through Read, with detection.
	res, err := Read(vault, Options{Passphrase: pw("first password")})
	if err != nil || res.Format != FormatAegis || len(res.Entries) != 4 {
		t.Fatalf("read: %v", err)
	}
}

func TestParseAegisErrors(t *testing.T) {
	good := encryptAegis(t, 1024, aegisPlainDB, "pw")
	var v map[string]any
	json.Unmarshal(good, &v)
	mutate := func(f func(h map[string]any)) []byte {
		var c map[string]any
		json.Unmarshal(good, &c)
		f(c)
		b, _ := json.Marshal(c)
		return b
	}
	slot := func(c map[string]any) map[string]any {
		return c["header"].(map[string]any)["slots"].([]any)[1].(map[string]any)
	}
	tests := []struct {
		name     string
		in       []byte
		is       error
		mentions string
	}{
		{"not json", []byte("{"), ErrCorrupt, "invalid JSON"},
		{"version", []byte(`{"version": 2, "db": {}}`), ErrCorrupt, "version 2"},
		{"huge scrypt n", mutate(func(c map[string]any) { slot(c)["n"] = 1 << 30 }), ErrCorrupt, "scrypt parameters"},
		{"n not a power of two", mutate(func(c map[string]any) { slot(c)["n"] = 1000 }), ErrCorrupt, "scrypt parameters"},
		{"tampered db", mutate(func(c map[string]any) { c["db"] = base64.StdEncoding.EncodeToString([]byte("tampered ciphertext")) }), ErrCorrupt, "does not decrypt"},
		{"bad nonce", mutate(func(c map[string]any) {
			c["header"].(map[string]any)["params"] = map[string]any{"nonce": "zz", "tag": "00"}
		}), ErrCorrupt, "nonce"},
		{"only biometric", mutate(func(c map[string]any) { h := c["header"].(map[string]any); h["slots"] = h["slots"].([]any)[:1] }), ErrCorrupt, "no password slot"},
		{"bad secret", []byte(`{"version":1,"header":{},"db":{"version":3,"entries":[{"type":"totp","name":"n","issuer":"i","info":{"secret":"!!","digits":6,"period":30}}]}}`), nil, "entry 1 (i:n): secret"},
		{"hotp without counter", []byte(`{"version":1,"header":{},"db":{"version":3,"entries":[{"type":"hotp","name":"n","info":{"secret":"JBSWY3DP","digits":6}}]}}`), nil, "without a counter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAegis(tt.in, pw("pw"))
			if err == nil || got != nil || !strings.Contains(err.Error(), tt.mentions) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("got %d entries, err %v; want %v mentioning %q", len(got), err, tt.is, tt.mentions)
			}
		})
	}
}

func TestAegisRoundTrip(t *testing.T) {
	want := append(sample(t), steamEntry())
	out, skipped, err := WriteAegis(append(want, Entry{Key: otpauth.Key{Issuer: "S", Account: "x"}, Unsupported: "motp"}))
	if err != nil || len(skipped) != 1 {
		t.Fatalf("err %v skipped %v", err, skipped)
	}
	var v struct {
		Header struct{ Slots, Params any }
		DB     struct{ Version int }
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Header.Slots != nil || v.Header.Params != nil || v.DB.Version != 3 {
		t.Fatalf("not a plain aegis vault: %v %+v", err, v)
	}
	if f, err := Detect(out); f != FormatAegis {
		t.Fatalf("detected %q %v", f, err)
	}
	if !strings.Contains(string(out), `"type": "steam"`) && !strings.Contains(string(out), `"type":"steam"`) {
		t.Fatalf("no steam entry in %s", out)
	}
	got, err := ParseAegis(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, want, true)
	checkSteam(t, &got[len(got)-1])
}
