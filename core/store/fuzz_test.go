package store

import (
	"bytes"
	"encoding/json"
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
		enc, err := encodeAccounts(as)
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
		enc, err := encodeVault(as, secrets)
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

// FuzzDecodeAccountsFast holds the hand-written accounts.json reader to
// encoding/json: whatever it accepts, encoding/json accepts too and
// decodes to the very same accounts.
func FuzzDecodeAccountsFast(f *testing.F) {
	for _, s := range fastDecodeCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeAccountsFast(data)
		if !ok {
			return
		}
		var slow accountsFile
		if err := json.Unmarshal(data, &slow); err != nil {
			t.Fatalf("fast path accepted what encoding/json refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast path differs from encoding/json on %q:\n%+v\n%+v", data, fast, slow)
		}
	})
}

// fastDecodeCases are inputs on both sides of the fast reader's subset.
var fastDecodeCases = []string{
	`{"version":1,"accounts":[]}`,
	`{"version":1,"accounts":[{"id":"0123456789abcdef","issuer":"GitHub","name":"alice","type":"totp","algorithm":"SHA1","digits":6,"period":30,"counter":0,"order":0,"created":"2026-01-02T03:04:05Z"}]}`,
	`{"version":1,"accounts":[{"id":"0123456789abcdef","name":"h","type":"hotp","algorithm":"SHA512","digits":8,"period":30,"counter":18446744073709551615,"tags":["a","été"],"order":-3,"created":"2026-01-02T03:04:05.5+02:00"}]}`,
	" { \"version\" : 1 ,\n\t\"accounts\" : [ { \"id\" : \"ab\" , \"tags\" : [ ] } ] } \r\n",
	`{"version":1,"accounts":[{"id":"ab","issuer":"AT\u0026T","name":"a\"b"}]}`,
	`{"version":1,"accounts":[{"id":"ab","type":"TOTP","algorithm":"sha-256"}]}`,
	`{"version":1,"accounts":[{"id":"ab","type":"nope"}]}`,
	`{"version":1,"accounts":[{"id":"ab","created":"2026-13-02T03:04:05Z"}]}`,
	`{"version":1,"accounts":[{"id":"ab","digits":6.0}]}`,
	`{"version":1,"accounts":[{"id":"ab","digits":-0,"order":-9223372036854775808}]}`,
	`{"version":1,"accounts":[{"id":"ab","order":9223372036854775808}]}`,
	`{"version":1,"accounts":[{"id":"ab","counter":-1}]}`,
	`{"version":1,"accounts":[{"id":"ab","digits":06}]}`,
	`{"version":1,"accounts":[{"ID":"ab"}]}`,
	`{"version":1,"accounts":[{"id":"ab","id":"cd"}]}`,
	`{"version":1,"accounts":null}`,
	`{"version":1,"accounts":[{"id":"ab","tags":null}]}`,
	`{"version":1,"accounts":[{"id":"ab","extra":1}]}`,
	"{\"version\":1,\"accounts\":[{\"id\":\"\xff\"}]}",
	`{"version":1,"accounts":[]} x`,
	`{"version":1,"version":2}`,
	`{}`,
	`{"version":1,"accounts":[{"id":"ab"},]}`,
	"\xef\xbb\xbf{\"version\":1}",
}

// FuzzDecodeConfigFast holds the config.json fast path to encoding/json.
func FuzzDecodeConfigFast(f *testing.F) {
	for _, s := range []string{`{"backend":"keyring"}` + "\n", `{"backend":"file"}`, `{}`, `{"backend":"x","backend":"y"}`, `{"Backend":"file"}`, `{"backend":null}`, `{"backend":"\u0066ile"}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodeConfigFast(data)
		if !ok {
			return
		}
		var slow config
		if err := json.Unmarshal(data, &slow); err != nil || slow != fast {
			t.Fatalf("%q: fast %+v, encoding/json %+v (%v)", data, fast, slow, err)
		}
	})
}
