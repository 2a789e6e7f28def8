package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"latchkey/server/oidc"
)

// BenchmarkTokenEndpoint measures client_credentials tokens per second
// over loopback HTTP (SQLite), with client_secret_basic and with
// private_key_jwt (RS256 and ES256 assertions, made before the timer
// starts so the client's signing is not charged), beside /api/v1/verify
// (HTTP Basic, enrolled users, right and wrong codes) on the same server
// in the same run.
func BenchmarkTokenEndpoint(b *testing.B) {
	kr, _ := NewKeyring(testKey(9))
	hs := serveLoopbackUnstarted(b)
	s, err := New(Config{Store: openTestSQLite(b), Keyring: kr, AdminToken: "t", PublicURL: hs.url})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	hs.start(s)
	ctx := context.Background()
	users := enrollUsers(b, s, loadUsers)
	basicID, basicSecret, _ := s.CreateClient(ctx, "verify")
	gts := []string{"client_credentials"}
	name := "bench"
	secretClient, secret, err := s.oidc.CreateClient(ctx, oidc.ClientMetadata{Name: &name, GrantTypes: &gts})
	if err != nil {
		b.Fatal(err)
	}
	call := func(req *http.Request) {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: status %d", req.URL.Path, resp.StatusCode)
		}
	}
	tokenReq := func(form url.Values, a auth) *http.Request {
		req, _ := http.NewRequest("POST", hs.url+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		a(req)
		return req
	}
	perSec := func(b *testing.B, start time.Time, unit string) {
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
	}

	b.Run("verify-basic", func(b *testing.B) {
		var seed atomic.Int64
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			rng := rand.New(rand.NewPCG(uint64(seed.Add(1)), 1))
			for pb.Next() {
				req, _ := http.NewRequest("POST", hs.url+"/api/v1/verify", bytes.NewReader(users.body(rng)))
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth(basicID, basicSecret)
				call(req)
			}
		})
		perSec(b, start, "verifications/s")
	})
	b.Run("token-client_secret_basic", func(b *testing.B) {
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call(tokenReq(url.Values{"grant_type": {"client_credentials"}}, basic(secretClient.ID, secret)))
			}
		})
		perSec(b, start, "tokens/s")
	})
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
		kp := newKeyPair(b, alg, "k")
		jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{kp.jwk}})
		method, raw := oidc.AuthPrivateKeyJWT, json.RawMessage(jwks)
		c, _, err := s.oidc.CreateClient(ctx, oidc.ClientMetadata{Name: &name, GrantTypes: &gts, AuthMethod: &method, JWKS: &raw})
		if err != nil {
			b.Fatal(err)
		}
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: kp.priv, KeyID: "k"}}, nil)
		b.Run("token-private_key_jwt-"+string(alg), func(b *testing.B) {
			forms := make([]url.Values, b.N)
			for i := range forms {
				a, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: c.ID, Subject: c.ID, Audience: jwt.Audience{hs.url},
					Expiry: jwt.NewNumericDate(time.Now().Add(4 * time.Minute)), ID: randomID(12)}).Serialize()
				if err != nil {
					b.Fatal(err)
				}
				forms[i] = url.Values{"grant_type": {"client_credentials"}, "client_assertion": {a},
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
			}
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					call(tokenReq(forms[next.Add(1)-1], noAuth))
				}
			})
			perSec(b, start, "tokens/s")
		})
	}
}

type loopback struct {
	url   string
	start func(http.Handler)
}

// serveLoopbackUnstarted reserves a loopback address first, so that the
// server's public URL (its issuer) can be set before it starts.
func serveLoopbackUnstarted(b *testing.B) loopback {
	addr := freeAddr(b)
	return loopback{url: "http://" + addr, start: func(h http.Handler) {
		srv := &http.Server{Addr: addr, Handler: h}
		go srv.ListenAndServe()
		b.Cleanup(func() { srv.Close() })
		for range 100 {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		b.Fatal("server did not start")
	}}
}
