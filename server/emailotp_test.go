package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"latchkey/server/oidc"
	"latchkey/server/oidc/grants/emailotp"
)

// mailSink is a real SMTP server on loopback (go-smtp) that requires
// AUTH PLAIN and keeps what it receives.
type mailSink struct {
	addr string
	ln   net.Listener
	mu   sync.Mutex
	msgs []sunkMail
	fail bool // refuse every recipient
}

type sunkMail struct {
	from string
	to   []string
	data string
}

const sinkUser, sinkPassword = "latchkey", "smtp-pass"

func newMailSink(t testing.TB) *mailSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms := &mailSink{addr: ln.Addr().String(), ln: ln}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: ms}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ms
}

// config is the mailer settings for the sink: plain SMTP to loopback
// with AUTH PLAIN (smtp_security none).
func (ms *mailSink) config() emailotp.SMTPConfig {
	_, port, _ := net.SplitHostPort(ms.addr)
	p, _ := strconv.Atoi(port)
	return emailotp.SMTPConfig{Host: "127.0.0.1", Port: p, Security: emailotp.SecurityNone, Username: sinkUser,
		Password: sinkPassword, From: "Latchkey <codes@example.com>"}
}

func (ms *mailSink) all() []sunkMail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]sunkMail(nil), ms.msgs...)
}

type sinkSession struct {
	sink *mailSink
	auth bool
	cur  sunkMail
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != sinkUser || pass != sinkPassword {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	s.cur = sunkMail{from: from}
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.sink.mu.Lock()
	fail := s.sink.fail
	s.sink.mu.Unlock()
	if fail {
		return &smtp.SMTPError{Code: 550, Message: "mailbox unavailable"}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.cur)
	s.sink.mu.Unlock()
	return nil
}
func (s *sinkSession) Reset()        { s.cur = sunkMail{} }
func (s *sinkSession) Logout() error { return nil }

// emailServer is an OpenID test server whose email code grant mails
// through a mailSink, with two clients allowed the grant.
type emailServer struct {
	*testServer
	sink           *mailSink
	reg            *prometheus.Registry
	id, secret     string
	otherID, other string
}

func newEmailServer(t *testing.T, st Store, mods ...func(*Config)) *emailServer {
	t.Helper()
	sink := newMailSink(t)
	m, err := emailotp.NewSMTP(sink.config())
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	ts := newOIDCServer(t, st, append([]func(*Config){func(c *Config) { c.Mailer, c.Registry = m, reg }}, mods...)...)
	es := &emailServer{testServer: ts, sink: sink, reg: reg}
	es.id, es.secret = es.newClient("shop")
	es.otherID, es.other = es.newClient("other")
	return es
}

func (es *emailServer) newClient(name string) (id, secret string) {
	cr := es.createClient(`{"name":"` + name + `","grant_types":["` + emailotp.GrantType + `"]}`)
	return cr["client_id"].(string), cr["client_secret"].(string)
}

func (es *emailServer) post(a auth, kv ...string) reply {
	es.t.Helper()
	f := url.Values{"grant_type": {emailotp.GrantType}}
	for i := 0; i < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return postForm(es.t, es.testServer, f, a)
}

func (es *emailServer) client() auth { return basic(es.id, es.secret) }

// metric is the value of latchkey_email_otp_total{event}.
func (es *emailServer) metric(event string) float64 {
	mfs, err := es.reg.Gather()
	if err != nil {
		es.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "latchkey_email_otp_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == event {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

var codeRE = regexp.MustCompile(`code: (\d{6,10}) end`)

// start asks the client a for a code for addr and returns the reference
// and the code as it arrived by mail.
func (es *emailServer) startAs(a auth, addr string) (ref, code string) {
	es.t.Helper()
	n := len(es.sink.all())
	r := es.post(a, "username", addr, "message", "Your shop code: {code} end")
	if r.status != 200 {
		es.t.Fatalf("start: %d %s\n%s", r.status, r.body, es.logs.String())
	}
	ch, _ := r.json(es.t)["challenge"].(map[string]any)
	ref, _ = ch["reference"].(string)
	if ref == "" || ch["expires_in"] != float64(300) || len(r.json(es.t)) != 1 {
		es.t.Fatalf("start answered %s", r.body)
	}
	msgs := es.sink.all()
	if len(msgs) != n+1 {
		es.t.Fatalf("%d mails, want %d", len(msgs), n+1)
	}
	m := codeRE.FindStringSubmatch(msgs[n].data)
	if m == nil {
		es.t.Fatalf("no code in the mail:\n%s", msgs[n].data)
	}
	return ref, m[1]
}

func (es *emailServer) start(addr string) (ref, code string) {
	es.t.Helper()
	return es.startAs(es.client(), addr)
}

func wantTokenError(t *testing.T, r reply, status int, code, desc string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["error"] != code || !strings.Contains(m["error_description"].(string), desc) {
		t.Fatalf("got %s, want %s %q", r.body, code, desc)
	}
	return m
}

// wantRefused checks the second call's refusal: 400 invalid_grant, desc,
// the challenge echoed, and attempts_left (when left >= 0).
func wantRefused(t *testing.T, r reply, ref, desc string, left int) {
	t.Helper()
	m := wantTokenError(t, r, 400, "invalid_grant", desc)
	if m["error_description"] != desc {
		t.Fatalf("error_description %q, want %q", m["error_description"], desc)
	}
	ch, _ := m["challenge"].(map[string]any)
	if ch == nil || ch["reference"] != ref {
		t.Fatalf("challenge not echoed: %s", r.body)
	}
	if _, ok := ch["expires_in"].(float64); !ok {
		t.Fatalf("challenge without expires_in: %s", r.body)
	}
	if left >= 0 && m["attempts_left"] != float64(left) {
		t.Fatalf("attempts_left %v, want %d: %s", m["attempts_left"], left, r.body)
	}
}

// otherCode is a code of the same length that is not code.
func otherCode(code string) string {
	if code[0] == '0' {
		return "1" + code[1:]
	}
	return "0" + code[1:]
}

func TestEmailOTP(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testEmailOTP(t, b.open(t)) })
	}
}

func testEmailOTP(t *testing.T, st Store) {
	es := newEmailServer(t, st)
	ref, code := es.start("Alice@Example.COM")
	m := es.sink.all()[0]
	// The mail goes to the address as sent; sub and email are lower-cased.
	if m.from != "codes@example.com" || len(m.to) != 1 || m.to[0] != "Alice@Example.COM" {
		t.Errorf("envelope %q -> %q", m.from, m.to)
	}
	// Another client cannot use the reference; a wrong code is refused
	// with what is left; a code with spaces is a wrong code.
	wantRefused(t, es.post(basic(es.otherID, es.other), "reference", ref, "code", code), ref, emailotp.DescInvalid, 0)
	wrong := otherCode(code)
	wantRefused(t, es.post(es.client(), "reference", ref, "code", wrong), ref, emailotp.DescInvalid, 4)
	wantRefused(t, es.post(es.client(), "reference", ref, "code", " "+code), ref, emailotp.DescInvalid, 3)

	r := es.post(es.client(), "reference", ref, "code", code)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("finish: %d %s", r.status, r.body)
	}
	tok := r.json(t)
	if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(600) || tok["scope"] != "openid email" || tok["access_token"] == nil {
		t.Errorf("token response %s", r.body)
	}
	checkIDToken(t, es.testServer, es.id, tok["id_token"].(string), "alice@example.com")
	at, err := es.verifier(t).Verify(es.ctx(), tok["access_token"].(string))
	if err != nil || at.Subject != "alice@example.com" {
		t.Fatalf("access token: %v", err)
	}
	if r := es.do("POST", "/api/v1/verify", bearer(tok["access_token"].(string)), `{"user":"u","code":"123456"}`); r.status != 401 {
		t.Errorf("a user's access token at /api/v1/verify: %d", r.status)
	}
	// Single use; an unknown and a malformed reference look the same.
	wantRefused(t, es.post(es.client(), "reference", ref, "code", code), ref, emailotp.DescInvalid, 0)
	fake := strings.Repeat("A", len(ref))
	wantRefused(t, es.post(es.client(), "reference", fake, "code", code), fake, emailotp.DescInvalid, 0)
	wantRefused(t, es.post(es.client(), "reference", "x", "code", code), "x", emailotp.DescInvalid, 0)

	// A reference whose MAC was altered is refused even with the right code.
	ref, code = es.start("mac@example.com")
	raw, _ := base64.RawURLEncoding.DecodeString(ref)
	raw[len(raw)-1] ^= 1
	bad := base64.RawURLEncoding.EncodeToString(raw)
	wantRefused(t, es.post(es.client(), "reference", bad, "code", code), bad, emailotp.DescInvalid, 0)

	// Expiry, on the injected clock.
	ref, code = es.start("bob@example.com")
	es.clock.Add(emailotp.DefaultTTL - time.Second)
	ref2, code2 := es.start("bob2@example.com")
	es.clock.Add(time.Second)
	wantRefused(t, es.post(es.client(), "reference", ref, "code", code), ref, emailotp.DescExpired, -1)
	if r := es.post(es.client(), "reference", ref2, "code", code2); r.status != 200 {
		t.Fatalf("a challenge 1 s old: %d %s", r.status, r.body)
	}

	// Five guesses per code: the sixth, even right, finds the challenge dead.
	ref, code = es.start("carol@example.com")
	for i := range emailotp.DefaultMaxAttempts {
		wantRefused(t, es.post(es.client(), "reference", ref, "code", otherCode(code)), ref, emailotp.DescInvalid, emailotp.DefaultMaxAttempts-1-i)
	}
	wantRefused(t, es.post(es.client(), "reference", ref, "code", code), ref, emailotp.DescInvalid, 0)

	// A new challenge for the same client and address ends the earlier
	// one; another client's challenge for the address lives on.
	refA, codeA := es.start("dora@example.com")
	refO, codeO := es.startAs(basic(es.otherID, es.other), "dora@example.com")
	refB, codeB := es.start("DORA@example.com")
	wantRefused(t, es.post(es.client(), "reference", refA, "code", codeA), refA, emailotp.DescInvalid, 0)
	for _, c := range []struct {
		a         auth
		ref, code string
	}{{es.client(), refB, codeB}, {basic(es.otherID, es.other), refO, codeO}} {
		if r := es.post(c.a, "reference", c.ref, "code", c.code); r.status != 200 {
			t.Fatalf("live challenge: %d %s", r.status, r.body)
		}
	}

	// Metrics and audit: every challenge and outcome, with the address,
	// never a code.
	for ev, want := range map[string]float64{"sent": 8, "verified": 4, "expired": 1} {
		if got := es.metric(ev); got != want {
			t.Errorf("metric %s = %v, want %v", ev, got, want)
		}
	}
	if es.metric("failed") < 10 {
		t.Errorf("metric failed = %v", es.metric("failed"))
	}
	es.Close()
	evs, err := st.AuditLog(t.Context(), "", 200)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range evs {
		if ev.Action == "token" && ev.Client == es.id {
			lines = append(lines, ev.User+" "+strings.TrimPrefix(ev.Outcome, emailotp.GrantType+" "))
		}
	}
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"alice@example.com challenge sent", "alice@example.com issued verified",
		"alice@example.com invalid_grant invalid attempts_left=4", "bob@example.com invalid_grant expired",
		"carol@example.com invalid_grant dead", " invalid_grant unknown", "mac@example.com invalid_grant bad_mac"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %q:\n%s", want, joined)
		}
	}
	for _, m := range es.sink.all() {
		if c := codeRE.FindStringSubmatch(m.data); strings.Contains(joined, c[1]) {
			t.Errorf("a code is in the audit log")
		}
	}
}

// checkIDToken verifies an id_token with go-oidc against the JWKS it
// fetches over HTTP, and checks every claim the issue names.
func checkIDToken(t *testing.T, ts *testServer, clientID, raw, sub string) {
	t.Helper()
	idt, err := ts.verifierFor(t, clientID).Verify(ts.ctx(), raw)
	if err != nil {
		t.Fatalf("go-oidc refuses the id_token: %v", err)
	}
	var c struct {
		Iss      string   `json:"iss"`
		Sub      string   `json:"sub"`
		Aud      []string `json:"aud"`
		AZP      string   `json:"azp"`
		Exp      int64    `json:"exp"`
		Iat      int64    `json:"iat"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
		Email    string   `json:"email"`
		Verified bool     `json:"email_verified"`
		JTI      string   `json:"jti"`
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	now := ts.clock.Now().Unix()
	if c.Iss != ts.url || c.Sub != sub || len(c.Aud) != 1 || c.Aud[0] != clientID || c.AZP != clientID || c.Iat != now ||
		c.Exp != now+600 || c.AuthTime != now || len(c.AMR) != 1 || c.AMR[0] != "otp" || c.Email != sub || !c.Verified || c.JTI == "" {
		t.Errorf("id_token claims %+v", c)
	}
}

// TestEmailOTPOAuth2 reads the second call's answers through
// golang.org/x/oauth2, as an application would.
func TestEmailOTPOAuth2(t *testing.T) {
	es := newEmailServer(t, openTestSQLite(t))
	ref, code := es.start("erin@example.com")
	exchange := func(ref, code string) (*oauth2.Token, error) {
		cc := clientcredentials.Config{ClientID: es.id, ClientSecret: es.secret, TokenURL: es.url + "/oauth2/token",
			AuthStyle:      oauth2.AuthStyleInHeader,
			EndpointParams: url.Values{"grant_type": {emailotp.GrantType}, "reference": {ref}, "code": {code}}}
		return cc.Token(es.ctx())
	}
	_, err := exchange(ref, otherCode(code))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != emailotp.DescInvalid {
		t.Fatalf("wrong code: %v", err)
	}
	var body struct {
		AttemptsLeft int            `json:"attempts_left"`
		Challenge    oidc.Challenge `json:"challenge"`
	}
	if err := json.Unmarshal(re.Body, &body); err != nil || body.AttemptsLeft != 4 || body.Challenge.Reference != ref ||
		body.Challenge.ExpiresIn != 300 {
		t.Fatalf("wrong code body %s (%v)", re.Body, err)
	}
	tok, err := exchange(ref, code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.Extra("scope") != "openid email" {
		t.Errorf("token %+v", tok)
	}
	checkIDToken(t, es.testServer, es.id, tok.Extra("id_token").(string), "erin@example.com")
	ref, code = es.start("erin@example.com")
	es.clock.Add(emailotp.DefaultTTL)
	if _, err := exchange(ref, code); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != emailotp.DescExpired {
		t.Fatalf("expired: %v", err)
	}
}

func TestEmailOTPLimits(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testEmailOTPLimits(t, b.open(t)) })
	}
}

func testEmailOTPLimits(t *testing.T, st Store) {
	es := newEmailServer(t, st, func(c *Config) { c.EmailOTP.ClientLimit = 8 })
	// Five challenges per address per hour (the default), whatever the case.
	for i := range emailotp.DefaultAddressLimit {
		es.start([]string{"dave@example.com", "DAVE@example.com"}[i%2])
	}
	es.clock.Add(10 * time.Minute)
	r := es.post(es.client(), "username", "Dave@Example.com")
	wantTokenError(t, r, 429, "slow_down", "5 challenges were started for this address")
	if ra := r.header.Get("Retry-After"); ra != "3000" {
		t.Errorf("Retry-After %q, want 3000", ra)
	}
	if n := len(es.sink.all()); n != emailotp.DefaultAddressLimit {
		t.Errorf("%d mails sent, want %d", n, emailotp.DefaultAddressLimit)
	}
	// The client's own limit (8 here): 3 more addresses, then 429.
	for i := range 3 {
		es.start(fmt.Sprintf("c%d@example.com", i))
	}
	r = es.post(es.client(), "username", "c9@example.com")
	wantTokenError(t, r, 429, "slow_down", "this client started 8 challenges")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	es.startAs(basic(es.otherID, es.other), "c9@example.com") // another client is not affected
	es.clock.Add(emailotp.LimitWindow)

	// Guesses count per address across challenges: 10 wrong codes in a
	// row (two challenges' worth) lock the address; attempts_left says so.
	ref, code := es.start("dave@example.com")
	for i := range emailotp.DefaultMaxAttempts {
		wantRefused(t, es.post(es.client(), "reference", ref, "code", otherCode(code)), ref, emailotp.DescInvalid, 4-i)
	}
	ref, code = es.start("dave@example.com")
	for i := range emailotp.DefaultMaxAttempts {
		wantRefused(t, es.post(es.client(), "reference", ref, "code", otherCode(code)), ref, emailotp.DescInvalid, 4-i)
	}
	r = es.post(es.client(), "username", "dave@example.com")
	wantTokenError(t, r, 429, "slow_down", "too many wrong codes")
	if r.header.Get("Retry-After") != "30" {
		t.Errorf("Retry-After %q, want 30", r.header.Get("Retry-After"))
	}
	ref2, code2 := es.start("frank@example.com") // other addresses are not affected
	es.clock.Add(emailotp.DefaultLockBase)
	ref, code = es.start("dave@example.com")
	wantRefused(t, es.post(es.client(), "reference", ref, "code", otherCode(code)), ref, emailotp.DescInvalid, 0)
	// Locked again (60 s now): even the right code waits.
	wantRefused(t, es.post(es.client(), "reference", ref, "code", code), ref, emailotp.DescInvalid, 0)
	es.clock.Add(2 * emailotp.DefaultLockBase)
	if r := es.post(es.client(), "reference", ref, "code", code); r.status != 200 {
		t.Fatalf("after the lock: %d %s", r.status, r.body)
	}
	if r := es.post(es.client(), "reference", ref2, "code", code2); r.status != 200 {
		t.Fatalf("another address: %d %s", r.status, r.body)
	}
}

func TestEmailOTPBadInput(t *testing.T) {
	es := newEmailServer(t, openTestSQLite(t))
	long := strings.Repeat("a", 250) + "@example.com"
	for _, c := range []struct {
		kv         []string
		code, desc string
	}{
		{nil, "invalid_request", "username, or reference and code"},
		{[]string{"username", ""}, "invalid_request", "username (an email address) is required"},
		{[]string{"username", "not an address"}, "invalid_request", "without spaces"},
		{[]string{"username", "Bob <bob@example.com>"}, "invalid_request", "without spaces"},
		{[]string{"username", "<bob@example.com>"}, "invalid_request", "bare email address"},
		{[]string{"username", "bob@"}, "invalid_request", "bare email address"},
		{[]string{"username", long}, "invalid_request", "at most 254 bytes"},
		// Header injection through the address.
		{[]string{"username", "bob@example.com\r\nBcc: eve@example.com"}, "invalid_request", "line breaks"},
		{[]string{"username", "bob@example.com\nSubject: x"}, "invalid_request", "line breaks"},
		{[]string{"username", "bob@example.com", "message", "no placeholder"}, "invalid_request", "must contain {code} (or {0})"},
		{[]string{"username", "bob@example.com", "message", "{code}\x1b[2J"}, "invalid_request", "plain text"},
		{[]string{"username", "bob@example.com", "message", strings.Repeat("é", 495) + "{code}"}, "invalid_request", "at most 500 characters"},
		{[]string{"username", "bob@example.com", "scope", "profile"}, "invalid_scope", "openid email"},
		{[]string{"username", "bob@example.com", "code", "123456"}, "invalid_request", "not both"},
		{[]string{"reference", "abc"}, "invalid_request", "both required"},
		{[]string{"reference", "abc", "code", "123456", "message", "{code}"}, "invalid_request", "message goes with username"},
	} {
		wantTokenError(t, es.post(es.client(), c.kv...), 400, c.code, c.desc)
	}
	if n := len(es.sink.all()); n != 0 {
		t.Errorf("%d mails sent for bad requests", n)
	}
	// 500 characters (not bytes), {0} as a synonym, line breaks kept in the body.
	for i, msg := range []string{strings.Repeat("é", 494) + "{code}", "Code {0} end\r\nBcc: eve@example.com\n"} {
		if r := es.post(es.client(), "username", fmt.Sprintf("m%d@example.com", i), "message", msg); r.status != 200 {
			t.Fatalf("message %d: %d %s", i, r.status, r.body)
		}
	}
	msgs := es.sink.all()
	hdr, err := mail.ReadMessage(strings.NewReader(msgs[1].data))
	if err != nil || hdr.Header.Get("Bcc") != "" || len(msgs[1].to) != 1 {
		t.Errorf("a message's line break reached the header: %v %q", err, msgs[1].to)
	}
	if body, _ := io.ReadAll(quotedprintable.NewReader(hdr.Body)); !regexp.MustCompile(`^Code \d{6} end\r?\n`).Match(body) {
		t.Errorf("{0} not replaced: %q", body)
	}
	// A client without the grant, and a server without a mailer.
	cr := es.createClient(`{"name":"cc","grant_types":["client_credentials"]}`)
	wantTokenError(t, es.post(basic(cr["client_id"].(string), cr["client_secret"].(string)), "username", "bob@example.com"),
		400, "unauthorized_client", "")
	plain := newOIDCServer(t, openTestSQLite(t))
	if r := plain.do("POST", "/api/v1/clients", plain.admin(), `{"name":"x","grant_types":["`+emailotp.GrantType+`"]}`); r.status != 400 {
		t.Errorf("grant without a mailer: %d %s", r.status, r.body)
	}
}

// TestEmailOTPMIME: the mail is MIME text/plain UTF-8 with Date,
// Message-ID and the configured subject and template.
func TestEmailOTPMIME(t *testing.T) {
	es := newEmailServer(t, openTestSQLite(t), func(c *Config) {
		c.EmailOTP = emailotp.Settings{Digits: 8, Subject: "Ihr Anmeldecode für Läden", Template: "Code: {code} end — grüße\n"}
	})
	r := es.post(es.client(), "username", "gus@example.com")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m, err := mail.ReadMessage(strings.NewReader(es.sink.all()[0].data))
	if err != nil {
		t.Fatal(err)
	}
	checkMIME(t, m, "Ihr Anmeldecode für Läden", `^Code: \d{8} end — grüße\r?\n$`)
}

func checkMIME(t *testing.T, m *mail.Message, subject, bodyRE string) string {
	t.Helper()
	h := m.Header
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") || h.Get("MIME-Version") != "1.0" {
		t.Errorf("Content-Type %q MIME-Version %q", h.Get("Content-Type"), h.Get("MIME-Version"))
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !regexp.MustCompile(`^<[^<>@\s]+@[^<>@\s]+>$`).MatchString(id) {
		t.Errorf("Message-ID %q", id)
	}
	if s, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || s != subject {
		t.Errorf("Subject %q (%v)", s, err)
	}
	if from, err := h.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "codes@example.com" {
		t.Errorf("From %q", h.Get("From"))
	}
	var body io.Reader = m.Body
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(m.Body)
	}
	b, _ := io.ReadAll(body)
	if !regexp.MustCompile(bodyRE).Match(b) {
		t.Errorf("body %q", b)
	}
	return string(b)
}

// TestEmailOTPMailFails: when the mail server is down, refuses or does
// not answer, the client gets 503 temporarily_unavailable and no
// challenge is left.
func TestEmailOTPMailFails(t *testing.T) {
	st := openTestSQLite(t)
	es := newEmailServer(t, st)
	count := func() int {
		var n int
		if err := st.(*sqlStore).rdb.QueryRow(`SELECT COUNT(*) FROM email_otp_challenges`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	want503 := func(name string, r reply) {
		t.Helper()
		wantTokenError(t, r, 503, "temporarily_unavailable", "could not be mailed")
		if strings.Contains(string(r.body), "mailbox") || strings.Contains(string(r.body), "127.0.0.1") {
			t.Errorf("%s: the answer tells the mail server's words: %s", name, r.body)
		}
		if n := count(); n != 0 {
			t.Errorf("%s: %d challenges left", name, n)
		}
	}
	// Refused: a challenge that existed for the address is ended too.
	es.start("hal@example.com")
	es.sink.mu.Lock()
	es.sink.fail = true
	es.sink.mu.Unlock()
	want503("refused", es.post(es.client(), "username", "hal@example.com"))
	if es.metric("sent") != 1 {
		t.Errorf("sent = %v", es.metric("sent"))
	}

	// Down, and silent (a listener that never greets), with a short timeout.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	es.sink.ln.Close()
	for name, addr := range map[string]string{"down": es.sink.addr, "timeout": silent.Addr().String()} {
		cfg := es.sink.config()
		_, port, _ := net.SplitHostPort(addr)
		cfg.Port, _ = strconv.Atoi(port)
		cfg.Timeout = 300 * time.Millisecond
		m, err := emailotp.NewSMTP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ts := newOIDCServer(t, st, func(c *Config) { c.Mailer = m })
		id, secret := (&emailServer{testServer: ts}).newClient("x" + name)
		start := time.Now()
		want503(name, postForm(t, ts, url.Values{"grant_type": {emailotp.GrantType}, "username": {"ivy@example.com"}}, basic(id, secret)))
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %s", name, d)
		}
	}
}

// TestEmailOTPSTARTTLSRequired: with smtp_security starttls (the
// default), a server that offers no STARTTLS gets no mail and no password.
func TestEmailOTPSTARTTLSRequired(t *testing.T) {
	sink := newMailSink(t)
	cfg := sink.config()
	cfg.Security = ""
	m, err := emailotp.NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), "a@example.com", "s", "b"); err == nil || len(sink.all()) != 0 {
		t.Fatalf("sent without STARTTLS: %v", err)
	}
	cfg.Password, cfg.Security = "wrong", emailotp.SecurityNone
	if m, err = emailotp.NewSMTP(cfg); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), "a@example.com", "s", "b"); err == nil {
		t.Error("wrong SMTP password: sent")
	}
}

func TestSMTPConfig(t *testing.T) {
	ok := emailotp.SMTPConfig{Host: "mail.example.com", From: "Codes <a@example.com>"}
	for _, c := range []struct {
		mod func(*emailotp.SMTPConfig)
		err string
	}{
		{func(*emailotp.SMTPConfig) {}, ""},
		{func(c *emailotp.SMTPConfig) { c.Security, c.Port, c.Username = "tls", 2465, "u" }, ""},
		{func(c *emailotp.SMTPConfig) { c.Security, c.Host, c.Username = "none", "127.0.0.1", "u" }, ""},
		{func(c *emailotp.SMTPConfig) { c.Security, c.Username = "none", "u" }, "in the clear"},
		{func(c *emailotp.SMTPConfig) { c.Security = "ssl" }, "want starttls, tls or none"},
		{func(c *emailotp.SMTPConfig) { c.Port = 70000 }, "smtp_port"},
		{func(c *emailotp.SMTPConfig) { c.Host = "" }, "smtp_host"},
		{func(c *emailotp.SMTPConfig) { c.Host = "smtp://mail.example.com" }, "smtp_host"},
		{func(c *emailotp.SMTPConfig) { c.From = "nobody" }, "smtp_from"},
		{func(c *emailotp.SMTPConfig) { c.From = "a@example.com\r\nBcc: eve@example.com" }, "line break"},
		{func(c *emailotp.SMTPConfig) { c.Username = "u\r\nRCPT TO:<eve@example.com>" }, "line break"},
		{func(c *emailotp.SMTPConfig) { c.Host = "mail.example.com\n" }, "line break"},
	} {
		cfg := ok
		c.mod(&cfg)
		_, err := emailotp.NewSMTP(cfg)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("NewSMTP(%+v) = %v, want %q", cfg, err, c.err)
		}
	}
	// Send refuses line breaks in what goes into a header.
	m, _ := emailotp.NewSMTP(ok)
	for _, c := range [][2]string{{"a@example.com\r\nBcc: eve@example.com", "s"}, {"a@example.com", "s\r\nBcc: eve@example.com"}} {
		if err := m.Send(t.Context(), c[0], c[1], "b"); !errors.Is(err, emailotp.ErrHeader) {
			t.Errorf("Send(%q, %q) = %v", c[0], c[1], err)
		}
	}
}

// verifierFor is go-oidc's verifier of id_tokens for a client.
func (ts *testServer) verifierFor(t *testing.T, clientID string) *gooidc.IDTokenVerifier {
	p, err := gooidc.NewProvider(ts.ctx(), ts.url)
	if err != nil {
		t.Fatal(err)
	}
	return p.Verifier(&gooidc.Config{ClientID: clientID, Now: ts.clock.Now, SupportedSigningAlgs: []string{"RS256", "ES256"}})
}

func TestServeEmailConfig(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "smtp-pass")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	base := `"smtp_host":"mail.example.com","smtp_from":"codes@example.com"`
	for _, c := range []struct {
		json string
		env  func(string) string
		err  string
	}{
		{`{}`, env(), ""},
		{`{` + base + `}`, env(), ""},
		{`{` + base + `,"smtp_port":2525,"smtp_security":"tls","smtp_username":"u","email_otp_ttl":"1s","email_otp_digits":8,"email_otp_subject":"Code","email_otp_template":"{0}"}`, env("LATCHKEY_SMTP_PASSWORD", "p"), ""},
		{`{` + base + `,"smtp_username":"u","smtp_password_file":"` + pwFile + `"}`, env(), ""},
		{`{` + base + `,"email_otp_ttl":"24h"}`, env(), ""},
		{`{` + base + `,"smtp_username":"u","smtp_password_file":"` + pwFile + `"}`, env("LATCHKEY_SMTP_PASSWORD", "p"), "not both"},
		{`{` + base + `,"smtp_password_file":"` + pwFile + `"}`, env(), "needs smtp_username"},
		{`{` + base + `,"email_otp_ttl":"0s"}`, env(), "1s to 24h"},
		{`{` + base + `,"email_otp_ttl":"999ms"}`, env(), "1s to 24h"},
		{`{` + base + `,"email_otp_ttl":"24h1s"}`, env(), "1s to 24h"},
		{`{` + base + `,"email_otp_ttl":"5"}`, env(), "email_otp_ttl"},
		{`{` + base + `,"email_otp_digits":5}`, env(), "email_otp_digits"},
		{`{` + base + `,"email_otp_subject":"a\r\nBcc: eve@example.com"}`, env(), "line break"},
		{`{` + base + `,"email_otp_template":"no code"}`, env(), "email_otp_template"},
		{`{` + base + `,"smtp_security":"starttls-please"}`, env(), "smtp_security"},
		{`{"smtp_host":"mail.example.com"}`, env(), "go together"},
		{`{"email_otp_ttl":"5m"}`, env(), "need smtp_host"},
		{`{` + base + `,"email_otp_address_limit":1000,"email_otp_client_limit":1000000}`, env(), ""},
		{`{` + base + `,"email_otp_address_limit":-1}`, env(), "email_otp_address_limit -1: want 1 to 1000"},
		{`{` + base + `,"email_otp_address_limit":1001}`, env(), "email_otp_address_limit"},
		{`{` + base + `,"email_otp_client_limit":1000001}`, env(), "email_otp_client_limit"},
		{`{"email_otp_client_limit":5}`, env(), "need smtp_host"},
		{`{"smtp":"smtp://mail.example.com"}`, env(), "unknown field"},
	} {
		f := filepath.Join(dir, "c.json")
		os.WriteFile(f, []byte(c.json), 0o600)
		o, err := parseArgs("serve", []string{"--config", f}, io.Discard)
		if err == nil {
			_, _, err = emailSettings(o.FileConfig, c.env)
		}
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.json, err, c.err)
		}
	}
	// The limits reach the grant's settings (testEmailOTPLimits shows the
	// grant keeping them); unset, they stay zero: the grant's defaults.
	for json, want := range map[string][2]int{
		`{` + base + `,"email_otp_address_limit":2,"email_otp_client_limit":30}`: {2, 30},
		`{` + base + `}`: {0, 0},
	} {
		f := filepath.Join(dir, "c.json")
		os.WriteFile(f, []byte(json), 0o600)
		o, err := parseArgs("serve", []string{"--config", f}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		_, set, err := emailSettings(o.FileConfig, env())
		if err != nil {
			t.Fatal(err)
		}
		if got := [2]int{set.AddressLimit, set.ClientLimit}; got != want {
			t.Errorf("%s: limits %v, want %v", json, got, want)
		}
	}
	// The colleague's flags are gone: the issue names config keys only.
	for _, args := range [][]string{{"--smtp", "smtp://localhost"}, {"--mail-from", "codes@example.com"}} {
		if _, err := parseArgs("serve", args, io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

// recordMailer keeps what it is asked to send (fuzzing only: every other
// test mails through a real SMTP server).
type recordMailer struct {
	mu   sync.Mutex
	sent [][3]string
}

func (m *recordMailer) Send(_ context.Context, to, subject, body string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, [3]string{to, subject, body})
	return nil
}

// FuzzEmailOTPForm sends arbitrary username, message, reference and code
// fields through the token endpoint. Properties: the answer is 200, 400
// or 429, never a server error; a 200 to a first call sent exactly one
// mail, to the username as given, without a line break in it; an
// invalid_grant echoes the reference; a 400 sends no mail.
func FuzzEmailOTPForm(f *testing.F) {
	f.Add("alice@example.com", "Code {code}", "", "")
	f.Add("Bob@Example.COM", "{0}\r\nBcc: eve@example.com", "", "")
	f.Add("a@b\r\nBcc: c@d", "", "", "")
	f.Add("", "", "hT0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "123456")
	f.Add("", "", "x", "1")
	f.Add("\"quoted local\"@example.com", strings.Repeat("é", 500), "", "")
	m := &recordMailer{}
	kr, _ := NewKeyring(testKey(3))
	s, err := New(Config{Store: openTestSQLite(f), Keyring: kr, AdminToken: adminToken_, PublicURL: "http://127.0.0.1:1", Mailer: m})
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	name, gts := "fuzz", []string{emailotp.GrantType}
	c, secret, err := s.oidc.CreateClient(f.Context(), oidc.ClientMetadata{Name: &name, GrantTypes: &gts})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, username, message, reference, code string) {
		form := url.Values{"grant_type": {emailotp.GrantType}}
		for k, v := range map[string]string{"username": username, "message": message, "reference": reference, "code": code} {
			if v != "" {
				form.Set(k, v)
			}
		}
		m.mu.Lock()
		before := len(m.sent)
		m.mu.Unlock()
		req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ID, secret)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		r := reply{status: w.Code, body: w.Body.Bytes()}
		m.mu.Lock()
		sent := m.sent[before:]
		m.mu.Unlock()
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("%d not JSON: %s", r.status, r.body)
		}
		switch r.status {
		case 200:
			if body["challenge"] != nil {
				if len(sent) != 1 || sent[0][0] != username || strings.ContainsAny(sent[0][0], "\r\n") {
					t.Fatalf("mails %q for username %q", sent, username)
				}
			}
		case 400, 429:
			if len(sent) != 0 {
				t.Fatalf("%d sent mail: %q", r.status, sent)
			}
			if body["error"] == "invalid_grant" {
				ch, _ := body["challenge"].(map[string]any)
				want := reference
				if !utf8.ValidString(want) {
					want = ""
				}
				if ch == nil || ch["reference"] != want {
					t.Fatalf("invalid_grant without the challenge: %s", r.body)
				}
			}
		default:
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
}
