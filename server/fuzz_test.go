package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzDecoder checks decodeBytes for one body type: it never panics, it
// fails only with errBody, and what it accepts survives a round trip.
func fuzzDecoder[T any](f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeBytes[T](b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), errBody.Error()) {
				t.Fatalf("error %v does not wrap errBody", err)
			}
			return
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeBytes[T](out)
		if err != nil || !reflect.DeepEqual(v, again) {
			t.Fatalf("round trip %s: %+v != %+v (%v)", out, v, again, err)
		}
	})
}

func FuzzDecodeClient(f *testing.F) {
	fuzzDecoder[clientBody](f, `{"name":"shop"}`, `{"name":"a","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://x"}`, `{}`, `{"name":1}`, `{"name":"a"}{}`)
}

func FuzzDecodeEnroll(f *testing.F) {
	fuzzDecoder[EnrollRequest](f, `{"name":"Phone","issuer":"ACME","algorithm":"SHA256","digits":8,"period":30}`,
		`{"digits":-1}`, `{"period":1e400}`, `{"secret":"x"}`, `[]`)
}

func FuzzDecodeCode(f *testing.F) {
	fuzzDecoder[codeRequest](f, `{"code":"123456"}`, `{"code":" 123 456 "}`, `{"code":null}`)
}

func FuzzDecodeRename(f *testing.F) {
	fuzzDecoder[renameRequest](f, `{"name":"Laptop"}`, `{"name":null}`, `{"name":"\u0000"}`)
}

func FuzzDecodeVerify(f *testing.F) {
	fuzzDecoder[verifyRequest](f, `{"user":"alice","code":"123456"}`, `{"user":"","code":""}`, `{"user":"a","code":"1","x":1}`)
}

// FuzzVerifyHandler sends arbitrary bodies to POST /api/v1/verify through
// the whole handler: the answer is never a 5xx.
func FuzzVerifyHandler(f *testing.F) {
	for _, s := range []string{`{"user":"alice","code":"123456"}`, `{"user":"alice\u0000","code":"1"}`, `{"user":"` + strings.Repeat("a", 300) + `","code":"1"}`, `{`, ``} {
		f.Add(s)
	}
	st := openTestSQLite(f)
	kr, _ := NewKeyring(testKey(3))
	s, err := New(Config{Store: st, Keyring: kr, AdminToken: adminToken_, MaxBody: 4096, MaxFailures: 100, LockBase: time.Millisecond, LockMax: time.Millisecond})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	id, secret, _ := s.CreateClient(f.Context(), "fuzz")
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/verify", strings.NewReader(body))
		req.SetBasicAuth(id, secret)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%q: %d %s", body, w.Code, w.Body)
		}
		if w.Code != http.StatusOK && w.Code != 400 && w.Code != 413 && w.Code != 429 {
			t.Fatalf("%q: unexpected status %d", body, w.Code)
		}
	})
}
