package store

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzDecodeAccounts feeds accounts.json decoding arbitrary bytes: it must
// not panic, and whatever it accepts must survive encode and decode
// unchanged.
func FuzzDecodeAccounts(f *testing.F) {
	f.Add([]byte(`{"version":1,"accounts":[]}`))
	f.Add([]byte(`{"version":1,"accounts":[{"id":"0123456789abcdef","issuer":"GitHub","name":"alice","type":"totp","algorithm":"SHA1","digits":6,"period":30,"counter":0,"order":0,"created":"2026-01-02T03:04:05Z"}]}`))
	f.Add([]byte(`{"version":1,"accounts":[{"id":"0123456789abcdef","name":"h","type":"hotp","algorithm":"SHA512","digits":8,"period":30,"counter":18446744073709551615,"tags":["a"],"order":-3,"created":"2026-01-02T03:04:05.5+02:00"}]}`))
	f.Add([]byte(`{"version":1,"accounts":[{"id":"0123456789abcdef","type":"totp","digits":6,"period":30},{"id":"0123456789abcdef","type":"totp","digits":6,"period":30}]}`))
	f.Add([]byte(`{"version":1,"accounts":[{"id":"00000000000000bb","issuer":"Steam","name":"gamer","type":"steam","algorithm":"SHA1","digits":5,"period":30,"counter":0,"order":1,"created":"2026-01-02T03:04:05Z"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, err := decodeAccounts(data)
		if err != nil {
			return
		}
		enc, err := encodeAccounts(as, 0)
		if err != nil {
			t.Fatalf("accepted accounts do not encode: %v", err)
		}
		back, err := decodeAccounts(enc)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if len(as) == 0 && len(back) == 0 {
			return
		}
		if !reflect.DeepEqual(normTimes(as), normTimes(back)) {
			t.Fatalf("round trip changed accounts:\n%+v\n%+v", as, back)
		}
	})
}

func normTimes(as []Account) []Account {
	out := make([]Account, len(as))
	for i, a := range as {
		a.Created = a.Created.UTC()
		if len(a.Tags) == 0 {
			a.Tags = nil
		}
		out[i] = a
	}
	return out
}

// FuzzDecodeVault does the same for the decrypted vault, whose entries
// carry base32 secrets.
func FuzzDecodeVault(f *testing.F) {
	f.Add([]byte(`{"version":1,"accounts":[{"id":"0123456789abcdef","issuer":"GitHub","name":"alice","type":"totp","algorithm":"SHA1","digits":6,"period":30,"counter":0,"order":0,"created":"2026-01-02T03:04:05Z","secret":"JBSWY3DPEHPK3PXP"}]}`))
	f.Add([]byte(`{"version":1,"accounts":[{"id":"0123456789abcdef","type":"totp","digits":6,"period":30,"secret":"jbsw y3dp"}]}`))
	f.Add([]byte(`{"version":1,"accounts":[{"id":"0123456789abcdef","type":"totp","digits":6,"period":30,"secret":""}]}`))
	f.Add([]byte(`{"version":1,"accounts":[{"id":"0123456789abcdef","type":"totp","digits":6,"period":30,"secret":"!!"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		as, secrets, err := decodeVault(data)
		if err != nil {
			if bytes.Contains([]byte(err.Error()), []byte("JBSWY3DP")) {
				t.Fatalf("error repeats a secret: %v", err)
			}
			return
		}
		enc, err := encodeVault(as, secrets, 0)
		if err != nil {
			t.Fatalf("accepted vault does not encode: %v", err)
		}
		as2, sec2, err := decodeVault(enc)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if err := compareAll(as, secrets, as2, sec2); err != nil {
			t.Fatalf("round trip: %v", err)
		}
	})
}
