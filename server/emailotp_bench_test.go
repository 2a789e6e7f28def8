package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"latchkey/server/oidc"
	"latchkey/server/oidc/grants/emailotp"
)

// BenchmarkEmailOTP measures the email code grant over loopback HTTP
// (SQLite): "start" is one code mailed through a real SMTP listener on
// loopback (go-smtp, AUTH PLAIN, a new connection per mail), "round
// trip" is start plus the exchange of the code for an access token and
// an id_token. Each iteration uses an address of its own, so the
// per-address limits never refuse.
func BenchmarkEmailOTP(b *testing.B) {
	sink := newMailSink(b)
	m, err := emailotp.NewSMTP(emailotp.SMTPConfig{URL: sink.url(), Password: sinkPassword, From: "codes@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	kr, _ := NewKeyring(testKey(9))
	hs := serveLoopbackUnstarted(b)
	s, err := New(Config{Store: openTestSQLite(b), Keyring: kr, AdminToken: "t", PublicURL: hs.url, Mailer: m})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	hs.start(s)
	name, gts := "bench", []string{emailotp.GrantType}
	c, secret, err := s.oidc.CreateClient(b.Context(), oidc.ClientMetadata{Name: &name, GrantTypes: &gts})
	if err != nil {
		b.Fatal(err)
	}
	post := func(form url.Values) map[string]any {
		form.Set("grant_type", emailotp.GrantType)
		req, _ := http.NewRequest("POST", hs.url+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ID, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		var out map[string]any
		json.Unmarshal(body, &out)
		return out
	}
	n := 0
	start := func() string {
		n++
		out := post(url.Values{"username": {fmt.Sprintf("user%d@example.com", n)}, "message": {"Your shop code: {code} end"}})
		return out["challenge"].(map[string]any)["reference"].(string)
	}
	b.Run("start", func(b *testing.B) {
		for b.Loop() {
			start()
		}
	})
	b.Run("round trip", func(b *testing.B) {
		for b.Loop() {
			ref := start()
			sink.mu.Lock()
			code := codeRE.FindStringSubmatch(sink.msgs[len(sink.msgs)-1].data)[1]
			sink.mu.Unlock()
			if post(url.Values{"reference": {ref}, "code": {code}})["id_token"] == nil {
				b.Fatal("no id_token")
			}
		}
	})
}
