package storeio

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"latchkey/core/transfer"
)

// account i of the benchmark exports: a distinct issuer, name and
// 20-byte secret each, as base32 and as raw bytes.
func benchAccount(i int) (issuer, name, b32 string, raw []byte) {
	sum := sha1.Sum([]byte(fmt.Sprint(i)))
	return fmt.Sprintf("Service %d", i), fmt.Sprintf("user%d@example.com", i),
		base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:]), sum[:]
}

// benchExports builds n accounts in every format Read takes from other
// apps, in the layouts the core/transfer tests cite.
func benchExports(tb testing.TB, n int) map[string][]byte {
	var uris, ente, bwCSV, ppCSV, kpCSV strings.Builder
	bwCSV.WriteString("folder,favorite,type,name,notes,fields,reprompt,login_uri,login_username,login_password,login_totp\n")
	ppCSV.WriteString("type,name,url,email,username,password,note,totp,createTime,modifyTime,vault\n")
	kpCSV.WriteString(`"Group","Title","Username","Password","URL","Notes","TOTP","Icon","Last Modified","Created"` + "\n")
	var andotp, freeotp, bwItems, ppItems, apAuth []any
	for i := range n {
		issuer, name, b32, raw := benchAccount(i)
		uri := fmt.Sprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s", strings.ReplaceAll(issuer, " ", "%20"), name, b32, strings.ReplaceAll(issuer, " ", "%20"))
		fmt.Fprintln(&uris, uri)
		fmt.Fprintln(&ente, uri+`&codeDisplay=%7B%22pinned%22%3Afalse%2C%22trashed%22%3Afalse%2C%22tags%22%3A%5B%22Work%22%5D%7D`)
		fmt.Fprintf(&bwCSV, "Work,,login,%s,,,0,https://example.com,%s,pw,%s\n", issuer, name, b32)
		fmt.Fprintf(&ppCSV, "login,%s,https://example.com,%s,,pw,,%s,2024-01-01T10:00:00Z,2024-01-01T10:00:00Z,Personal\n", issuer, name, uri)
		fmt.Fprintf(&kpCSV, `"Root/Work","%s","%s","pw","","","key=%s&size=6&step=30","0","",""`+"\n", issuer, name, b32)
		andotp = append(andotp, map[string]any{"secret": b32, "issuer": issuer, "label": name, "digits": 6, "type": "TOTP", "algorithm": "SHA1", "period": 30, "tags": []string{"Work"}})
		signed := make([]int, len(raw))
		for j, c := range raw {
			signed[j] = int(int8(c))
		}
		freeotp = append(freeotp, map[string]any{"algo": "SHA1", "digits": 6, "period": 30, "issuerExt": issuer, "label": name, "secret": signed, "type": "TOTP"})
		bwItems = append(bwItems, map[string]any{"type": 1, "name": issuer, "folderId": "f", "login": map[string]any{"username": name, "password": "pw", "totp": uri}})
		ppItems = append(ppItems, map[string]any{"state": 1, "data": map[string]any{"type": "login", "metadata": map[string]any{"name": issuer},
			"content": map[string]any{"itemEmail": name, "totpUri": uri}, "extraFields": []any{}}})
		apAuth = append(apAuth, map[string]any{"Type": 2, "Issuer": issuer, "Username": name, "Secret": b32, "Algorithm": 0, "Digits": 6, "Period": 30, "Ranking": i})
	}
	js := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	andotpJSON := js(andotp)
	return map[string][]byte{
		"uris":             []byte(uris.String()),
		"andotp":           andotpJSON,
		"andotp-encrypted": encryptAndOTP(tb, andotpJSON, "pw", 5000),
		"freeotp":          js(map[string]any{"tokens": freeotp}),
		"bitwarden-json":   js(map[string]any{"encrypted": false, "folders": []any{map[string]any{"id": "f", "name": "Work"}}, "items": bwItems}),
		"bitwarden-csv":    []byte(bwCSV.String()),
		"protonpass-json":  js(map[string]any{"encrypted": false, "vaults": map[string]any{"s": map[string]any{"name": "Personal", "items": ppItems}}}),
		"protonpass-csv":   []byte(ppCSV.String()),
		"ente":             []byte(ente.String()),
		"keepassxc":        []byte(kpCSV.String()),
		"authpro":          js(map[string]any{"Authenticators": apAuth, "Categories": []any{}, "AuthenticatorCategories": []any{}}),
	}
}

// encryptAndOTP writes an andOTP encrypted backup (iterations, salt,
// nonce, AES-GCM under PBKDF2-HMAC-SHA1) with a fixed salt and nonce.
func encryptAndOTP(tb testing.TB, plain []byte, password string, iter int) []byte {
	salt, nonce := make([]byte, 12), make([]byte, 12)
	key, err := pbkdf2.Key(sha1.New, password, salt, iter, 32)
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	g, _ := cipher.NewGCM(block)
	out := binary.BigEndian.AppendUint32(nil, uint32(iter))
	out = append(append(out, salt...), nonce...)
	return g.Seal(out, nonce, plain, nil)
}

// BenchmarkImport1000 is the time to import 1,000 accounts from each
// format: detect, parse (and decrypt), then Import into an empty file
// store (age vault at the tests' low scrypt work factor, so the figure
// is the import's own cost, not the vault's key derivation).
func BenchmarkImport1000(b *testing.B) {
	ctx := context.Background()
	for name, data := range benchExports(b, 1000) {
		b.Run(name, func(b *testing.B) {
			opts := transfer.Options{Passphrase: func() ([]byte, error) { return []byte("pw"), nil }}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s := openStore(b)
				b.StartTimer()
				res, err := transfer.Read(data, opts)
				if err != nil {
					b.Fatal(err)
				}
				sum, err := Import(ctx, s, res.Entries)
				if err != nil || len(sum.Added) != 1000 {
					b.Fatalf("%v, %d added", err, len(sum.Added))
				}
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRead1000 is the reading part alone (detect, decrypt, parse),
// to tell it from the store's share of BenchmarkImport1000.
func BenchmarkRead1000(b *testing.B) {
	for name, data := range benchExports(b, 1000) {
		b.Run(name, func(b *testing.B) {
			opts := transfer.Options{Passphrase: func() ([]byte, error) { return []byte("pw"), nil }}
			for b.Loop() {
				if _, err := transfer.Read(data, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBenchExports keeps the benchmark's inputs honest: each is detected
// as its format and gives the 1,000 accounts.
func TestBenchExports(t *testing.T) {
	for name, data := range benchExports(t, 1000) {
		res, err := transfer.Read(data, transfer.Options{Passphrase: func() ([]byte, error) { return []byte("pw"), nil }})
		if err != nil || len(transfer.Supported(res.Entries)) != 1000 {
			t.Fatalf("%s: %v", name, err)
		}
		if f := string(res.Format); !strings.HasPrefix(name, f) {
			t.Errorf("%s detected as %s", name, f)
		}
	}
}
