package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/server/oidc"
	"latchkey/server/oidc/grants/emailotp"
)

// BenchmarkEmailOTP measures the email code grant over loopback HTTP
// (SQLite) with a real local SMTP server, in two setups: "go-smtp" (an
// in-process listener, plain SMTP with AUTH PLAIN) and "aiosmtpd"
// (Debian's python3-aiosmtpd in its own process, STARTTLS with a test
// certificate and AUTH, the setup). Each mail is a new SMTP
// connection. Sub-benchmarks:
//
//   - start: one challenge, from the first call to its 200 (which comes
//     after the SMTP server accepted the message); reports challenges/s.
//   - arrival (aiosmtpd): from sending the first call to the mail's file
//     appearing in the server's spool; reports ms-to-arrival.
//   - round trip: start plus the exchange of the code for tokens.
//
// Each iteration uses an address of its own and the client limit is
// lifted, so no limit refuses.
func BenchmarkEmailOTP(b *testing.B) {
	b.Run("go-smtp", func(b *testing.B) {
		sink := newMailSink(b)
		benchEmailOTP(b, sink.config(), func() string {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			return sink.msgs[len(sink.msgs)-1].data
		}, nil, nil)
	})
	b.Run("aiosmtpd", func(b *testing.B) {
		aio := startAiosmtpd(b)
		last := func() string {
			m := aio.mails(b)
			raw, _ := os.ReadFile(m[len(m)-1])
			return string(raw)
		}
		// The sink numbers its files: the next mail's file is known, and
		// a Stat of it is cheaper than listing a growing spool.
		arrived := func(n int) bool {
			_, err := os.Stat(filepath.Join(aio.dir, fmt.Sprintf("%06d.eml", n)))
			return err == nil
		}
		benchEmailOTP(b, aio.config(), last, func() int { return len(aio.mails(b)) }, arrived)
	})
}

func benchEmailOTP(b *testing.B, mc emailotp.SMTPConfig, lastMail func() string, count func() int, arrived func(n int) bool) {
	m, err := emailotp.NewSMTP(mc)
	if err != nil {
		b.Fatal(err)
	}
	kr, _ := NewKeyring(testKey(9))
	hs := serveLoopbackUnstarted(b)
	s, err := New(Config{Store: openTestSQLite(b), Keyring: kr, AdminToken: adminToken_, PublicURL: hs.url, Mailer: m,
		EmailOTP: emailotp.Settings{ClientLimit: 1 << 30}})
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
		t0 := time.Now()
		for b.Loop() {
			start()
		}
		b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "challenges/s")
	})
	if count != nil {
		b.Run("arrival", func(b *testing.B) {
			var total time.Duration
			for b.Loop() {
				next := count() + 1
				t0 := time.Now()
				done := make(chan struct{})
				go func() { start(); close(done) }()
				for !arrived(next) {
					time.Sleep(50 * time.Microsecond)
				}
				total += time.Since(t0)
				<-done
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-to-arrival")
		})
	}
	b.Run("round trip", func(b *testing.B) {
		for b.Loop() {
			ref := start()
			code := codeRE.FindStringSubmatch(lastMail())[1]
			if post(url.Values{"reference": {ref}, "code": {code}})["id_token"] == nil {
				b.Fatal("no id_token")
			}
		}
	})
}
