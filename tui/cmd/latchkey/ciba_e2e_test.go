package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/oauth2"

	"latchkey/core/enroll"
	"latchkey/core/testenv"
)

// cibaClientApp is a relying party as a real one is written: private_key_jwt
// assertions signed with go-jose, polling through x/oauth2, the id_token
// verified by go-oidc.
type cibaClientApp struct {
	t      *testing.T
	id     string
	key    *rsa.PrivateKey
	issuer string
}

func (c cibaClientApp) assertion(aud string) string {
	c.t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: c.key}, (&jose.SignerOptions{}).WithHeader("kid", "rp1"))
	if err != nil {
		c.t.Fatal(err)
	}
	jti := make([]byte, 12)
	rand.Read(jti)
	now := time.Now()
	a, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: c.id, Subject: c.id, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute)),
		ID: base64.RawURLEncoding.EncodeToString(jti)}).Serialize()
	if err != nil {
		c.t.Fatal(err)
	}
	return a
}

// authorize calls bc-authorize at base with an assertion whose aud is
// the backchannel endpoint (CIBA Core §7.1).
func (c cibaClientApp) authorize(base string, form url.Values) map[string]any {
	c.t.Helper()
	form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	form.Set("client_assertion", c.assertion(c.issuer+"/oauth2/bc-authorize"))
	resp, err := http.PostForm(base+"/oauth2/bc-authorize", form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// poll asks base's token endpoint once, through x/oauth2.
func (c cibaClientApp) poll(base, reqID string) (*oauth2.Token, string) {
	conf := oauth2.Config{ClientID: c.id, Endpoint: oauth2.Endpoint{TokenURL: base + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := conf.Exchange(context.Background(), "",
		oauth2.SetAuthURLParam("grant_type", "urn:openid:params:grant-type:ciba"),
		oauth2.SetAuthURLParam("auth_req_id", reqID),
		oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
		oauth2.SetAuthURLParam("client_assertion", c.assertion(c.issuer+"/oauth2/token")))
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return nil, re.ErrorCode
	}
	if err != nil {
		c.t.Fatalf("poll: %v", err)
	}
	return tok, ""
}

// startServe runs `latchkey serve` on a free port and waits for /healthz.
func startServe(t *testing.T, bin, dsn, publicURL, addr string, env []string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--db", dsn, "--public-url", publicURL)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(30 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
	}
	t.Fatalf("serve on %s never healthy: %s", addr, stderr.String())
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestCIBAEndToEnd: two `latchkey serve` on one PostgreSQL behind one
// public URL; the user's `latchkey` enrolls (and so pairs) by link and
// approves and denies with the real binary; a relying party written with
// go-jose, x/oauth2 and go-oidc asks one instance and polls the other.
// It logs the two latency figures of the CIBA issue.
func TestCIBAEndToEnd(t *testing.T) {
	dsn := testenv.Env(t, "LATCHKEY_TEST_PG_DSN")
	bin := buildLatchkey(t)
	// A fresh database for the two instances.
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := "latchkey_ciba_e2e_" + strings.ToLower(base64.RawURLEncoding.EncodeToString([]byte(time.Now().Format("150405.000"))))[:10]
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); admin.Close() })
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	db := u.String()

	dir := t.TempDir()
	mk := make([]byte, 32)
	rand.Read(mk)
	addrA, addrB := freeAddr(t), freeAddr(t)
	public := "http://" + addrA
	serverEnv := append(os.Environ(), "HOME="+dir, "LATCHKEY_ADMIN_TOKEN=e2e-admin", "LATCHKEY_MASTER_KEY="+base64.StdEncoding.EncodeToString(mk))
	startServe(t, bin, db, public, addrA, serverEnv)
	startServe(t, bin, db, public, addrB, serverEnv)
	a, b := "http://"+addrA, "http://"+addrB

	// The relying party registers (on b) with its public key.
	rpKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: rpKey.Public(), KeyID: "rp1", Algorithm: "RS256", Use: "sig"}}})
	req, _ := http.NewRequest("POST", b+"/api/v1/clients", strings.NewReader(`{"name":"Shop","grant_types":["urn:openid:params:grant-type:ciba"],"token_endpoint_auth_method":"private_key_jwt","jwks":`+string(jwks)+`}`))
	req.Header.Set("Authorization", "Bearer e2e-admin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var created struct {
		ID string `json:"client_id"`
	}
	if json.Unmarshal(body, &created); created.ID == "" {
		t.Fatalf("create client: %s", body)
	}
	rp := cibaClientApp{t: t, id: created.ID, key: rpKey, issuer: public}

	// The user enrolls with the real binary: that pairs the device.
	home := t.TempDir()
	userEnv := append(os.Environ(), "HOME="+home, "LATCHKEY_HOME="+filepath.Join(home, "lk"))
	if os.Getenv("LATCHKEY_TEST_SECRET_SERVICE") != "" {
		userEnv = append(userEnv, "LATCHKEY_STORE=keyring")
	} else {
		userEnv = append(userEnv, "LATCHKEY_STORE=file", "LATCHKEY_PASSPHRASE=correct horse")
	}
	latchkey := func(args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = userEnv
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("latchkey %v: %v\nstdout %s\nstderr %s", args, err, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	adm := enroll.Admin{Server: a, Token: "e2e-admin"}
	cr, err := adm.Create(context.Background(), "alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := latchkey("enroll", cr.EnrollmentLink); !strings.Contains(out, "paired") {
		t.Fatalf("enroll did not pair: %q", out)
	}

	// Approve. The device long-polls a (its pairing names the public URL);
	// the client asks b, then polls both.
	type listed struct {
		items []map[string]any
		at    time.Time
	}
	got := make(chan listed, 1)
	go func() {
		cmd := exec.Command(bin, "requests", "--wait", "--json", "--timeout", "30s")
		cmd.Env = userEnv
		out, _ := cmd.Output()
		var items []map[string]any
		json.Unmarshal(out, &items)
		got <- listed{items, time.Now()}
	}()
	time.Sleep(3 * time.Second) // let the waiting command reach its long poll
	asked := time.Now()
	m := rp.authorize(b, url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "binding_message": {"Sign in to Shop: 7F3K"}})
	reqID, _ := m["auth_req_id"].(string)
	if reqID == "" || m["interval"] != float64(5) {
		t.Fatalf("bc-authorize: %v", m)
	}
	l := <-got
	if len(l.items) != 1 || l.items[0]["id"] != reqID || l.items[0]["binding_message"] != "Sign in to Shop: 7F3K" || l.items[0]["client"] != "Shop" {
		t.Fatalf("requests --wait: %v", l.items)
	}
	seen := l.at.Sub(asked)
	if _, code := rp.poll(a, reqID); code != "authorization_pending" {
		t.Fatalf("first poll: %q", code)
	}
	if _, code := rp.poll(b, reqID); code != "slow_down" {
		t.Fatalf("second poll at once, on the other instance: %q", code)
	}
	out, _ := latchkey("approve", reqID)
	approved := time.Now()
	if !strings.HasPrefix(out, "approved") {
		t.Fatalf("approve: %q", out)
	}
	// The client's next poll, on the other instance. It comes sooner than
	// the interval (now 10 s after slow_down): a finished request is
	// answered at once, so the figure is the server's part; a client that
	// waits out its interval adds up to that interval.
	tok, code := rp.poll(a, reqID)
	if tok == nil {
		t.Fatalf("poll after approval: %q", code)
	}
	nextPoll := time.Since(approved)
	t.Logf("bc-authorize on instance b to `latchkey requests --wait` (long-polling instance a, the public URL) printing it: %v", seen.Round(time.Millisecond))
	t.Logf("`latchkey approve` done to the client's next poll (instance a) returning the tokens: %v", nextPoll.Round(time.Millisecond))

	p, err := gooidc.NewProvider(context.Background(), public)
	if err != nil {
		t.Fatal(err)
	}
	idRaw, _ := tok.Extra("id_token").(string)
	idt, err := p.Verifier(&gooidc.Config{ClientID: rp.id}).Verify(context.Background(), idRaw)
	if err != nil {
		t.Fatalf("go-oidc refuses the id_token: %v", err)
	}
	var claims struct {
		AZP      string   `json:"azp"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
	}
	idt.Claims(&claims)
	if idt.Subject != "alice" || claims.AZP != rp.id || !slices.Equal(claims.AMR, []string{"swk"}) ||
		claims.AuthTime < asked.Unix() || claims.AuthTime > approved.Unix()+1 {
		t.Errorf("id_token: sub %q %+v", idt.Subject, claims)
	}
	if _, code := rp.poll(b, reqID); code != "invalid_grant" {
		t.Errorf("poll after the tokens: %q", code)
	}

	// Deny, then expiry.
	m = rp.authorize(a, url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "binding_message": {"deny me"}})
	denied, _ := m["auth_req_id"].(string)
	if out, _ := latchkey("deny", denied); !strings.HasPrefix(out, "denied") {
		t.Fatalf("deny: %q", out)
	}
	if _, code := rp.poll(b, denied); code != "access_denied" {
		t.Errorf("after deny: %q", code)
	}
	m = rp.authorize(a, url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "requested_expiry": {"1"}})
	short, _ := m["auth_req_id"].(string)
	time.Sleep(1100 * time.Millisecond)
	if _, code := rp.poll(a, short); code != "expired_token" {
		t.Errorf("after expiry: %q", code)
	}

	// The audit log (read through the other instance) has every step.
	req, _ = http.NewRequest("GET", b+"/api/v1/audit?user=alice&limit=100", nil)
	req.Header.Set("Authorization", "Bearer e2e-admin")
	time.Sleep(200 * time.Millisecond) // audit events are written in batches
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`"action":"device_pair"`, `"action":"ciba_authorize","outcome":"pending"`,
		`"action":"ciba_answer","outcome":"approved"`, `"action":"ciba_answer","outcome":"denied"`, `"action":"ciba_token","outcome":"issued"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}
