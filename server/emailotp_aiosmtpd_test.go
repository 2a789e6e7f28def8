package server

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/mail"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"latchkey/server/oidc/grants/emailotp"
)

// aiosmtpd is Debian's python3-aiosmtpd run by the test
// (testdata/aiosmtpd_sink.py): STARTTLS required, with a certificate the
// test makes, and AUTH after it.
type aiosmtpd struct {
	dir  string
	port int
	pool *x509.CertPool
}

const aioUser, aioPassword = "latchkey", "aio-pass"

// python3 is Debian's interpreter: pyenv's python3 on PATH does not see
// Debian's modules.
const python3 = "/usr/bin/python3"

func startAiosmtpd(t testing.TB) *aiosmtpd {
	t.Helper()
	if err := exec.Command(python3, "-c", "import aiosmtpd").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-aiosmtpd is missing (.ci/deps installs it): %v", err)
		}
		t.Skipf("python3-aiosmtpd is missing: %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile, pool := testCertificate(t, dir)
	out := filepath.Join(dir, "mail")
	os.Mkdir(out, 0o700)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(python3, "testdata/aiosmtpd_sink.py", "127.0.0.1", strconv.Itoa(port), out, certFile, keyFile, aioUser, aioPassword)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	// Its log (tracebacks of refused handshakes included) is shown
	// only when the test fails.
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("aiosmtpd:\n%s", logs.String())
		}
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			t.Fatalf("aiosmtpd did not start: %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("aiosmtpd did not start in 20 s")
	}
	return &aiosmtpd{dir: out, port: port, pool: pool}
}

// testCertificate writes a self-signed ECDSA certificate for localhost
// and 127.0.0.1 and returns its files and a pool that trusts it.
func testCertificate(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// config is the mailer settings for the server: STARTTLS to localhost,
// trusting the test certificate, with AUTH.
func (a *aiosmtpd) config() emailotp.SMTPConfig {
	return emailotp.SMTPConfig{Host: "localhost", Port: a.port, Username: aioUser, Password: aioPassword,
		From: "Latchkey <codes@example.com>", RootCAs: a.pool}
}

// mails lists the delivered messages' files, oldest first.
func (a *aiosmtpd) mails(t testing.TB) []string {
	m, err := filepath.Glob(filepath.Join(a.dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// TestEmailOTPAiosmtpd is the whole exchange through a real SMTP server
// with STARTTLS and AUTH: the test reads the delivered mail, takes the
// code, redeems it through golang.org/x/oauth2 and verifies the id_token
// with go-oidc.
func TestEmailOTPAiosmtpd(t *testing.T) {
	aio := startAiosmtpd(t)
	m, err := emailotp.NewSMTP(aio.config())
	if err != nil {
		t.Fatal(err)
	}
	es := &emailServer{testServer: newOIDCServer(t, openTestSQLite(t), func(c *Config) { c.Mailer = m })}
	es.id, es.secret = es.newClient("shop")
	r := es.post(es.client(), "username", "Jane.Doe@Example.org", "message", "Ihr Code für den Laden: {code}\nGrüße")
	if r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	ref := r.json(t)["challenge"].(map[string]any)["reference"].(string)
	files := aio.mails(t)
	if len(files) != 1 {
		t.Fatalf("%d mails delivered", len(files))
	}
	rcpt, _ := os.ReadFile(strings.TrimSuffix(files[0], ".eml") + ".rcpt")
	if strings.TrimSpace(string(rcpt)) != "Jane.Doe@Example.org" {
		t.Errorf("envelope recipient %q", rcpt)
	}
	raw, _ := os.ReadFile(files[0])
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body := checkMIME(t, msg, emailotp.DefaultSubject, `^Ihr Code für den Laden: \d{6}\r?\nGrüße`)
	code := strings.Fields(strings.SplitN(body, ": ", 2)[1])[0]

	cc := clientcredentials.Config{ClientID: es.id, ClientSecret: es.secret, TokenURL: es.url + "/oauth2/token",
		AuthStyle:      oauth2.AuthStyleInHeader,
		EndpointParams: url.Values{"grant_type": {emailotp.GrantType}, "reference": {ref}, "code": {code}}}
	tok, err := cc.Token(es.ctx())
	if err != nil {
		t.Fatal(err)
	}
	checkIDToken(t, es.testServer, es.id, tok.Extra("id_token").(string), "jane.doe@example.org")

	// A wrong password: AUTH refused, 503, no challenge left.
	cfg := aio.config()
	cfg.Password = "wrong"
	bad, _ := emailotp.NewSMTP(cfg)
	ts := newOIDCServer(t, es.store, func(c *Config) { c.Mailer = bad })
	id, secret := (&emailServer{testServer: ts}).newClient("bad")
	r = postForm(t, ts, url.Values{"grant_type": {emailotp.GrantType}, "username": {"kim@example.org"}}, basic(id, secret))
	wantTokenError(t, r, 503, "temporarily_unavailable", "")
	var n int
	if err := es.store.(*sqlStore).rdb.QueryRow(`SELECT COUNT(*) FROM email_otp_challenges WHERE address = 'kim@example.org'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d challenges left after AUTH failed (%v)", n, err)
	}
	// An untrusted certificate: the mail is not sent.
	cfg = aio.config()
	cfg.RootCAs = x509.NewCertPool()
	untrusted, _ := emailotp.NewSMTP(cfg)
	if err := untrusted.Send(t.Context(), "kim@example.org", "s", "b"); err == nil {
		t.Error("sent to a server with an untrusted certificate")
	}
	if len(aio.mails(t)) != 1 {
		t.Errorf("%d mails delivered", len(aio.mails(t)))
	}
}
