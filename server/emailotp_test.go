package server

import (
	"errors"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"latchkey/server/oidc/grants/emailotp"
)

// mailSink is a real SMTP server on loopback (go-smtp) that requires
// AUTH PLAIN and keeps what it receives.
type mailSink struct {
	addr string
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
	ms := &mailSink{addr: ln.Addr().String()}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: ms}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ms
}

func (ms *mailSink) url() string { return "smtp://" + sinkUser + "@" + ms.addr }

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
// through a mailSink, with one client allowed the grant.
type emailServer struct {
	*testServer
	sink           *mailSink
	id, secret     string
	otherID, other string
}

func newEmailServer(t *testing.T, st Store) *emailServer {
	t.Helper()
	sink := newMailSink(t)
	m, err := emailotp.NewSMTP(emailotp.SMTPConfig{URL: sink.url(), Password: sinkPassword, From: "Latchkey <codes@example.com>"})
	if err != nil {
		t.Fatal(err)
	}
	ts := newOIDCServer(t, st, func(c *Config) { c.Mailer = m })
	es := &emailServer{testServer: ts, sink: sink}
	cr := ts.createClient(`{"name":"shop","grant_types":["` + emailotp.GrantType + `"]}`)
	es.id, es.secret = cr["client_id"].(string), cr["client_secret"].(string)
	cr = ts.createClient(`{"name":"other","grant_types":["` + emailotp.GrantType + `"]}`)
	es.otherID, es.other = cr["client_id"].(string), cr["client_secret"].(string)
	return es
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

var codeRE = regexp.MustCompile(`code: (\d{6}) end`)

// start asks for a code for addr and returns the reference and the code
// as it arrived by mail.
func (es *emailServer) start(addr string) (ref, code string) {
	es.t.Helper()
	n := len(es.sink.all())
	r := es.post(es.client(), "username", addr, "message", "Your shop code: {code} end")
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

func wantTokenError(t *testing.T, r reply, status int, code, desc string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["error"] != code || !strings.Contains(m["error_description"].(string), desc) {
		t.Fatalf("got %s, want %s %q", r.body, code, desc)
	}
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
	if m.from != "codes@example.com" || len(m.to) != 1 || m.to[0] != "Alice@example.com" {
		t.Errorf("envelope %q -> %q", m.from, m.to)
	}
	for _, h := range []string{"Subject: Your sign-in code", "Message-ID: <", "Date: ", "To: <Alice@example.com>"} {
		if !strings.Contains(m.data, h) {
			t.Errorf("mail lacks %q:\n%s", h, m.data)
		}
	}
	// Another client cannot use the reference; a wrong code is refused.
	wantTokenError(t, es.post(basic(es.otherID, es.other), "reference", ref, "code", code), 400, "invalid_grant", "unknown or used")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantTokenError(t, es.post(es.client(), "reference", ref, "code", wrong), 400, "invalid_grant", "wrong code")
	wantTokenError(t, es.post(es.client(), "reference", ref, "code", " "+code), 400, "invalid_grant", "wrong code")

	r := es.post(es.client(), "reference", ref, "code", code)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("finish: %d %s", r.status, r.body)
	}
	tok := r.json(t)
	if tok["token_type"] != "Bearer" || tok["expires_in"] != float64(600) || tok["scope"] != "openid" {
		t.Errorf("token response %s", r.body)
	}
	// The id_token verifies with go-oidc for the client; the access token
	// for the API, but it is about a user, so /api/v1/verify refuses it.
	p := es.verifierFor(t, es.id)
	idt, err := p.Verify(es.ctx(), tok["id_token"].(string))
	if err != nil {
		t.Fatalf("go-oidc refuses the id_token: %v", err)
	}
	var claims struct {
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
		AZP      string   `json:"azp"`
		Email    string   `json:"email"`
		Verified bool     `json:"email_verified"`
	}
	idt.Claims(&claims)
	if idt.Subject != "Alice@example.com" || len(claims.AMR) != 1 || claims.AMR[0] != "otp" ||
		claims.AuthTime != es.clock.Now().Unix() || claims.AZP != es.id || claims.Email != "Alice@example.com" || !claims.Verified {
		t.Errorf("id_token sub %q claims %+v", idt.Subject, claims)
	}
	at, err := es.verifier(t).Verify(es.ctx(), tok["access_token"].(string))
	if err != nil || at.Subject != "Alice@example.com" {
		t.Fatalf("access token: %v", err)
	}
	if r := es.do("POST", "/api/v1/verify", bearer(tok["access_token"].(string)), `{"user":"u","code":"123456"}`); r.status != 401 {
		t.Errorf("a user's access token at /api/v1/verify: %d", r.status)
	}
	// Once only.
	wantTokenError(t, es.post(es.client(), "reference", ref, "code", code), 400, "invalid_grant", "unknown or used")

	// Expiry.
	ref, code = es.start("bob@example.com")
	es.clock.Add(emailotp.DefaultCodeTTL)
	wantTokenError(t, es.post(es.client(), "reference", ref, "code", code), 400, "invalid_grant", "OTP Expired")

	// Five guesses per code, then even the right one is refused.
	ref, code = es.start("carol@example.com")
	for range emailotp.DefaultMaxAttempts {
		wantTokenError(t, es.post(es.client(), "reference", ref, "code", wrong), 400, "invalid_grant", "wrong code")
	}
	wantTokenError(t, es.post(es.client(), "reference", ref, "code", code), 400, "invalid_grant", "too many wrong codes for this reference")

	// Audit and metrics.
	es.Close()
	evs, err := st.AuditLog(t.Context(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, ev := range evs {
		if ev.Action == "token" && ev.Client == es.id {
			outcomes = append(outcomes, ev.Outcome)
		}
	}
	joined := strings.Join(outcomes, ",")
	for _, want := range []string{emailotp.GrantType + " challenge", emailotp.GrantType + " issued", emailotp.GrantType + " invalid_grant"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %q: %s", want, joined)
		}
	}
}

func TestEmailOTPLimits(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testEmailOTPLimits(t, b.open(t)) })
	}
}

func testEmailOTPLimits(t *testing.T, st Store) {
	es := newEmailServer(t, st)
	// Five codes per address per 15 minutes, whatever the case.
	for i := range emailotp.DefaultSendLimit {
		es.start([]string{"dave@example.com", "DAVE@example.com"}[i%2])
	}
	r := es.post(es.client(), "username", "Dave@Example.com")
	wantTokenError(t, r, 429, "slow_down", "5 codes were sent")
	if n := len(es.sink.all()); n != emailotp.DefaultSendLimit {
		t.Errorf("%d mails sent, want %d", n, emailotp.DefaultSendLimit)
	}
	es.clock.Add(emailotp.DefaultSendWindow)
	ref, code := es.start("dave@example.com")

	// Ten wrong codes in a row lock the address for 30 s: no new code,
	// and a code already sent is refused; then the lock doubles.
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	n := 0
	for n < emailotp.DefaultMaxFailures {
		if n > 0 && n%emailotp.DefaultMaxAttempts == 0 {
			es.clock.Add(emailotp.DefaultSendWindow)
			ref, code = es.start("dave@example.com")
		}
		wantTokenError(t, es.post(es.client(), "reference", ref, "code", wrong), 400, "invalid_grant", "wrong code")
		n++
	}
	ref2, code2 := es.start("erin@example.com") // other addresses are not affected
	wantTokenError(t, es.post(es.client(), "username", "dave@example.com"), 429, "slow_down", "too many wrong codes")
	es.clock.Add(emailotp.DefaultLockBase)
	ref, code = es.start("dave@example.com")
	wantTokenError(t, es.post(es.client(), "reference", ref, "code", wrong), 400, "invalid_grant", "wrong code")
	wantTokenError(t, es.post(es.client(), "reference", ref, "code", code), 400, "invalid_grant", "too many wrong codes for this address")
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
		{[]string{"username", "bob@example.com", "message", "no placeholder"}, "invalid_request", "must contain {code}"},
		{[]string{"username", "bob@example.com", "message", "{code}\x1b[2J"}, "invalid_request", "control characters"},
		{[]string{"username", "bob@example.com", "message", strings.Repeat("x", 2001) + "{code}"}, "invalid_request", "at most 2000 bytes"},
		{[]string{"username", "bob@example.com", "scope", "profile"}, "invalid_scope", "openid"},
		{[]string{"username", "bob@example.com", "code", "123456"}, "invalid_request", "not both"},
		{[]string{"reference", "abc"}, "invalid_request", "both required"},
		{[]string{"reference", "abc", "code", "123456", "message", "{code}"}, "invalid_request", "message goes with username"},
		{[]string{"reference", "abc", "code", "123456"}, "invalid_grant", "unknown or used"},
		{[]string{"reference", strings.Repeat("a", 100), "code", "123456"}, "invalid_grant", "unknown or used"},
	} {
		wantTokenError(t, es.post(es.client(), c.kv...), 400, c.code, c.desc)
	}
	if n := len(es.sink.all()); n != 0 {
		t.Errorf("%d mails sent for bad requests", n)
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

// TestEmailOTPMailFails: when the mail server refuses, the client gets a
// server error and the challenge is gone.
func TestEmailOTPMailFails(t *testing.T) {
	st := openTestSQLite(t)
	es := newEmailServer(t, st)
	es.sink.mu.Lock()
	es.sink.fail = true
	es.sink.mu.Unlock()
	r := es.post(es.client(), "username", "bob@example.com")
	if r.status != 500 || strings.Contains(string(r.body), "mailbox") {
		t.Fatalf("refused mail: %d %s", r.status, r.body)
	}
	var n int
	if err := st.(*sqlStore).rdb.QueryRow(`SELECT COUNT(*) FROM email_challenges`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d challenges left (%v)", n, err)
	}
	// Wrong SMTP credentials fail the same way.
	m, err := emailotp.NewSMTP(emailotp.SMTPConfig{URL: es.sink.url(), Password: "wrong", From: "codes@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(t.Context(), "bob@example.com", "s", "b"); err == nil {
		t.Error("wrong SMTP password: sent")
	}
}

func TestSMTPConfig(t *testing.T) {
	for _, c := range []struct{ url, from, err string }{
		{"smtp://mail.example.com", "a@example.com", ""},
		{"smtps://user@mail.example.com:2465", "Codes <a@example.com>", ""},
		{"smtp://user:pw@mail.example.com", "a@example.com", "LATCHKEY_SMTP_PASSWORD"},
		{"http://mail.example.com", "a@example.com", "want smtp or smtps"},
		{"smtp://mail.example.com:0", "a@example.com", "bad port"},
		{"smtp://mail.example.com/path", "a@example.com", "want smtp://"},
		{"mail.example.com", "a@example.com", "want smtp://"},
		{"smtp://mail.example.com", "nobody", "sender"},
	} {
		_, err := emailotp.NewSMTP(emailotp.SMTPConfig{URL: c.url, From: c.from})
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("NewSMTP(%q, %q) = %v, want %q", c.url, c.from, err, c.err)
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

func TestServeSMTPFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--smtp", "smtp://localhost"},
		{"--mail-from", "codes@example.com"},
	} {
		if _, err := parseArgs("serve", args, io.Discard); !errors.Is(err, ErrUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	o, err := parseArgs("serve", []string{"--smtp", "smtps://u@mail.example.com", "--mail-from", "codes@example.com"}, io.Discard)
	if err != nil || o.SMTP != "smtps://u@mail.example.com" || o.MailFrom != "codes@example.com" {
		t.Errorf("parse: %+v %v", o, err)
	}
}
