package server

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/testenv"
)

const adminToken_ = "test-admin-token-0123456789abcdef"

// clock is a settable clock for tests.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock      { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) Now() time.Time        { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration)   { c.ns.Add(int64(d)) }
func (c *clock) Set(t time.Time)       { c.ns.Store(t.UnixNano()) }
func (c *clock) step(period int) int64 { return int64(otp.Step(c.Now(), period)) }

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	*Server
	t            *testing.T
	url          string
	clock        *clock
	logs         *syncBuffer
	clientID     string
	clientSecret string
}

// newTestServer runs a Server over st in httptest, with a fake clock at
// the start of a 30 s step, and registers one client.
func newTestServer(t *testing.T, st Store, mods ...func(*Config)) *testServer {
	t.Helper()
	kr, err := NewKeyring(testKey(7))
	if err != nil {
		t.Fatal(err)
	}
	ck := newClock(time.Unix(1_800_000_000-1_800_000_000%30, 0))
	logs := &syncBuffer{}
	cfg := Config{Store: st, Keyring: kr, AdminToken: adminToken_, Now: ck.Now,
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, m := range mods {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() { hs.Close(); s.Close() })
	ts := &testServer{Server: s, t: t, url: hs.URL, clock: ck, logs: logs}
	ts.clientID, ts.clientSecret, err = s.CreateClient(context.Background(), "test app")
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
	return m
}

// auth is how a test request authenticates.
type auth func(*http.Request)

func bearer(tok string) auth {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func basic(id, secret string) auth {
	return func(r *http.Request) { r.SetBasicAuth(id, secret) }
}
func noAuth(*http.Request) {}

func (ts *testServer) admin() auth  { return bearer(adminToken_) }
func (ts *testServer) client() auth { return basic(ts.clientID, ts.clientSecret) }

func (ts *testServer) do(method, path string, a auth, body string) reply {
	ts.t.Helper()
	return doRequest(ts.t, ts.url, method, path, a, body)
}

func doRequest(t testing.TB, base, method, path string, a auth, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	a(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

// enrolled is a credential created through the API.
type enrolled struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	URI    string `json:"otpauth_uri"`
	QR     []byte `json:"qr_png"`
	gen    *otp.Generator
}

func (ts *testServer) enroll(user, body string) enrolled {
	ts.t.Helper()
	r := ts.do("POST", "/api/v1/users/"+user+"/credentials", ts.admin(), body)
	if r.status != http.StatusCreated {
		ts.t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	var e enrolled
	if err := json.Unmarshal(r.body, &e); err != nil {
		ts.t.Fatal(err)
	}
	k, err := otpauth.Parse(e.URI)
	if err != nil {
		ts.t.Fatal(err)
	}
	if e.gen, err = k.Generator(); err != nil {
		ts.t.Fatal(err)
	}
	return e
}

// enrollVerified enrolls and confirms a credential, then moves the clock
// to the next step so the user can sign in.
func (ts *testServer) enrollVerified(user string) enrolled {
	ts.t.Helper()
	e := ts.enroll(user, "")
	r := ts.do("POST", "/api/v1/users/"+user+"/credentials/"+e.ID+"/verify", ts.admin(), `{"code":"`+e.gen.At(ts.clock.Now())+`"}`)
	if r.status != http.StatusOK {
		ts.t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	ts.clock.Add(30 * time.Second)
	return e
}

func (ts *testServer) verify(user, code string) reply {
	ts.t.Helper()
	b, _ := json.Marshal(verifyRequest{User: user, Code: code})
	return ts.do("POST", "/api/v1/verify", ts.client(), string(b))
}

func TestEnrollmentFlow(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testEnrollmentFlow(t, b.open(t)) })
	}
}

func testEnrollmentFlow(t *testing.T, st Store) {
	ts := newTestServer(t, st)
	e := ts.enroll("alice@example.com", `{"name":"Phone","issuer":"ACME Co","algorithm":"SHA256","digits":8,"period":30}`)
	k, _ := otpauth.Parse(e.URI)
	if k.Issuer != "ACME Co" || k.Account != "alice@example.com" || k.Algorithm != otp.SHA256 || k.Digits != 8 ||
		k.Secret.Base32() != e.Secret || len(k.Secret) != 32 {
		t.Fatalf("otpauth key %v / %+v", k, k.Options())
	}
	img, err := png.Decode(bytes.NewReader(e.QR))
	if err != nil {
		t.Fatalf("qr_png: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 100 || b.Dx() != b.Dy() {
		t.Fatalf("qr size %v", b)
	}
	if got := decodeQR(t, e.QR); got != e.URI {
		t.Fatalf("QR holds %q, want the otpauth URI", got)
	}
	user := "/api/v1/users/alice@example.com/credentials"
	r := ts.do("GET", user+"/"+e.ID+"/qr.png", ts.admin(), "")
	if r.status != 200 || r.header.Get("Content-Type") != "image/png" || decodeQR(t, r.body) != e.URI {
		t.Fatalf("qr.png: %d %s", r.status, r.header.Get("Content-Type"))
	}

	r = ts.do("GET", user, ts.admin(), "")
	if r.status != 200 || bytes.Contains(r.body, []byte(e.Secret)) || !bytes.Contains(r.body, []byte(`"verified":false`)) {
		t.Fatalf("list: %d %s", r.status, r.body)
	}

	// A wrong first code, then the right one.
	wrong := e.gen.Code(uint64(ts.clock.step(30) + 5))
	r = ts.do("POST", user+"/"+e.ID+"/verify", ts.admin(), `{"code":"`+wrong+`"}`)
	if r.status != 400 || r.json(t)["error"] != "invalid_code" {
		t.Fatalf("wrong enrollment code: %d %s", r.status, r.body)
	}
	code := e.gen.At(ts.clock.Now())
	r = ts.do("POST", user+"/"+e.ID+"/verify", ts.admin(), `{"code":"`+code+`"}`)
	if r.status != 200 || r.json(t)["verified"] != true {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	r = ts.do("POST", user+"/"+e.ID+"/verify", ts.admin(), `{"code":"`+code+`"}`)
	if r.status != http.StatusConflict {
		t.Fatalf("second confirm: %d %s", r.status, r.body)
	}
	if r := ts.do("GET", user+"/"+e.ID+"/qr.png", ts.admin(), ""); r.status != http.StatusConflict {
		t.Fatalf("qr.png of a verified credential: %d", r.status)
	}
	// The enrollment code's step is burned.
	if r := ts.verify("alice@example.com", code); r.json(t)["reason"] != "replayed" {
		t.Fatalf("enrollment code reused: %s", r.body)
	}
	ts.clock.Add(30 * time.Second)
	r = ts.verify("alice@example.com", e.gen.At(ts.clock.Now()))
	if m := r.json(t); r.status != 200 || m["valid"] != true || m["credential_id"] != e.ID {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}

	// Rename only.
	if r := ts.do("PATCH", user+"/"+e.ID, ts.admin(), `{"name":"Work phone"}`); r.status != 200 {
		t.Fatalf("rename: %d %s", r.status, r.body)
	}
	if r := ts.do("PATCH", user+"/"+e.ID, ts.admin(), `{"name":"x","digits":6}`); r.status != 400 {
		t.Fatalf("patch digits: %d %s", r.status, r.body)
	}
	if r := ts.do("PATCH", user+"/"+e.ID, ts.admin(), `{}`); r.status != 400 {
		t.Fatalf("patch nothing: %d %s", r.status, r.body)
	}
	r = ts.do("GET", user, ts.admin(), "")
	var list struct {
		Credentials []credentialView `json:"credentials"`
	}
	json.Unmarshal(r.body, &list)
	if len(list.Credentials) != 1 || list.Credentials[0].Name != "Work phone" || !list.Credentials[0].Verified || list.Credentials[0].LastUsed == nil {
		t.Fatalf("list after rename: %s", r.body)
	}

	// Several credentials per user: the second one works too.
	e2 := ts.enrollVerified("alice@example.com")
	if r := ts.verify("alice@example.com", e2.gen.At(ts.clock.Now())); r.json(t)["credential_id"] != e2.ID {
		t.Fatalf("second credential: %s", r.body)
	}

	if r := ts.do("DELETE", user+"/"+e.ID, ts.admin(), ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := ts.do("DELETE", user+"/"+e.ID, ts.admin(), ""); r.status != 404 {
		t.Fatalf("second delete: %d %s", r.status, r.body)
	}
	ts.do("DELETE", user+"/"+e2.ID, ts.admin(), "")
	ts.clock.Add(30 * time.Second)
	if r := ts.verify("alice@example.com", e.gen.At(ts.clock.Now())); r.json(t)["reason"] != "no_credential" {
		t.Fatalf("after delete: %s", r.body)
	}

	ts.Close() // flush the audit log
	r = ts.do("GET", "/api/v1/audit?user=alice@example.com", ts.admin(), "")
	var audit struct{ Events []Event }
	json.Unmarshal(r.body, &audit)
	seen := map[string]bool{}
	for _, ev := range audit.Events {
		seen[ev.Action+":"+ev.Outcome] = true
	}
	for _, want := range []string{"enroll:created", "confirm:invalid_code", "confirm:verified", "verify:replayed", "verify:valid", "delete:ok", "rename:ok", "verify:no_credential"} {
		if !seen[want] {
			t.Errorf("audit log lacks %s: %s", want, r.body)
		}
	}

	// Logs never hold a secret or a code.
	logs := ts.logs.String()
	for _, s := range []string{e.Secret, e2.Secret, code, e.URI} {
		if strings.Contains(logs, s) {
			t.Fatalf("logs contain a secret or code %q", s)
		}
	}
	if !strings.Contains(logs, `"msg":"credential created"`) {
		t.Fatalf("logs: %s", logs)
	}
}

// decodeQR reads a QR code back with zbarimg.
func decodeQR(t *testing.T, pngData []byte) string {
	t.Helper()
	zbar := testenv.Tool(t, "zbarimg")
	path := filepath.Join(t.TempDir(), "qr.png")
	os.WriteFile(path, pngData, 0o600)
	out, err := exec.Command(zbar, "-q", "--raw", path).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestVerifyOutcomes(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t), func(c *Config) { c.MaxFailures = 3; c.LockBase = time.Minute })
	e := ts.enrollVerified("bob")
	now := ts.clock.Now()
	code := e.gen.At(now)
	prev := e.gen.Code(uint64(ts.clock.step(30) - 1))
	far := e.gen.Code(uint64(ts.clock.step(30) + 3))

	steps := []struct {
		name   string
		user   string
		code   string
		status int
		reason string
	}{
		{"valid", "bob", code, 200, ""},
		{"replayed", "bob", code, 200, "replayed"},
		{"replayed with spaces", "bob", "  " + code + " ", 200, "replayed"},
		{"replayed grouped", "bob", code[:3] + " " + code[3:], 200, "replayed"},
		{"earlier step", "bob", prev, 200, "replayed"},
		{"unknown user", "nobody", code, 200, "no_credential"},
		{"outside the window", "bob", far, 200, "invalid_code"},
		{"letters", "bob", "abcdef", 200, "invalid_code"},
		{"third failure locks", "bob", strings.Repeat("1", 40), 200, "invalid_code"},
		{"locked", "bob", code, 429, "locked"},
	}
	for _, s := range steps {
		r := ts.verify(s.user, s.code)
		m := r.json(t)
		if r.status != s.status || (s.reason == "" && m["valid"] != true) || (s.reason != "" && (m["reason"] != s.reason || m["valid"] != false)) {
			t.Fatalf("%s: %d %s; want %d %q", s.name, r.status, r.body, s.status, s.reason)
		}
		if s.reason == "locked" && r.header.Get("Retry-After") != "60" {
			t.Fatalf("Retry-After %q, want 60", r.header.Get("Retry-After"))
		}
	}
	// Locked even with a fresh valid code; after the lock a success resets.
	ts.clock.Add(30 * time.Second)
	if r := ts.verify("bob", e.gen.At(ts.clock.Now())); r.status != 429 || r.header.Get("Retry-After") != "30" {
		t.Fatalf("locked: %d %s Retry-After %q", r.status, r.body, r.header.Get("Retry-After"))
	}
	ts.clock.Add(31 * time.Second)
	if r := ts.verify("bob", e.gen.At(ts.clock.Now())); r.json(t)["valid"] != true {
		t.Fatalf("after lock: %s", r.body)
	}
	if st, _ := ts.store.UserState(context.Background(), "bob"); st.Failures != 0 {
		t.Fatalf("failures after success: %d", st.Failures)
	}
	// The back-off doubles: three failures lock for 1 min; a failure after
	// that lock, for 2.
	for range 3 {
		ts.verify("bob", "999999x")
	}
	if r := ts.verify("bob", "123456"); r.header.Get("Retry-After") != "60" {
		t.Fatalf("lock: Retry-After %q", r.header.Get("Retry-After"))
	}
	ts.clock.Add(61 * time.Second)
	ts.verify("bob", "999999x")
	if r := ts.verify("bob", "123456"); r.header.Get("Retry-After") != "120" {
		t.Fatalf("second lock: Retry-After %q", r.header.Get("Retry-After"))
	}
	r := ts.do("GET", "/metrics", noAuth, "")
	for _, want := range []string{`latchkey_verifications_total{outcome="valid"} 2`, `latchkey_verifications_total{outcome="replayed"} 4`,
		`latchkey_lockouts_total 3`, `latchkey_http_request_duration_seconds_bucket{route="POST /api/v1/verify"`, `latchkey_enrollments_total 1`,
		`latchkey_http_requests_total{code="429",route="POST /api/v1/verify"}`} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// The audit log names the client and records failures and lockouts.
	ts.Close()
	var audit struct{ Events []Event }
	json.Unmarshal(ts.do("GET", "/api/v1/audit?user=bob&limit=1000", ts.admin(), "").body, &audit)
	seen := map[string]bool{}
	for _, ev := range audit.Events {
		if ev.Action == "verify" && ev.Client != ts.clientID {
			t.Fatalf("verification without its client: %+v", ev)
		}
		seen[ev.Action+":"+strings.SplitN(ev.Outcome, " ", 2)[0]] = true
	}
	for _, want := range []string{"verify:valid", "verify:replayed", "verify:invalid_code", "verify:locked", "lockout:locked"} {
		if !seen[want] {
			t.Errorf("audit lacks %s: %v", want, seen)
		}
	}
	if r := ts.do("GET", "/api/v1/audit?limit=0", ts.admin(), ""); r.status != 400 {
		t.Errorf("limit=0: %d", r.status)
	}
}

func TestWindow(t *testing.T) {
	tests := []struct {
		window    int
		offset    int64
		wantValid bool
	}{
		{0, 0, true}, {0, -1, false}, {0, 1, false},
		{1, -1, true}, {1, 1, true}, {1, 2, false}, {1, -2, false},
		{2, -2, true}, {2, 2, true}, {2, 3, false},
	}
	for _, tt := range tests {
		t.Run("", func(t *testing.T) {
			ts := newTestServer(t, openTestSQLite(t), func(c *Config) { c.Window, c.WindowSet = tt.window, true })
			e := ts.enrollVerified("carol")
			ts.clock.Add(5 * time.Minute)
			code := e.gen.Code(uint64(ts.clock.step(30) + tt.offset))
			if got := ts.verify("carol", code).json(t)["valid"] == true; got != tt.wantValid {
				t.Fatalf("window %d, offset %d: valid %v", tt.window, tt.offset, got)
			}
		})
	}
	if _, err := New(Config{Store: openTestSQLite(t), Keyring: &Keyring{}, Window: 3}); err == nil {
		t.Fatal("window 3 accepted")
	}
	if _, err := New(Config{Store: openTestSQLite(t), Keyring: &Keyring{}, MaxFailures: 101}); err == nil {
		t.Fatal("max failures 101 accepted")
	}
}

func TestEnrollmentExpires(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	e := ts.enroll("dave", "")
	ts.clock.Add(15*time.Minute + time.Second)
	base := "/api/v1/users/dave/credentials/" + e.ID
	if r := ts.do("POST", base+"/verify", ts.admin(), `{"code":"`+e.gen.At(ts.clock.Now())+`"}`); r.status != 404 {
		t.Fatalf("confirm after expiry: %d %s", r.status, r.body)
	}
	if r := ts.do("GET", base+"/qr.png", ts.admin(), ""); r.status != 404 {
		t.Fatalf("qr after expiry: %d", r.status)
	}
	if r := ts.do("GET", "/api/v1/users/dave/credentials", ts.admin(), ""); bytes.Contains(r.body, []byte(e.ID)) {
		t.Fatalf("expired credential listed: %s", r.body)
	}
	if n, err := ts.SweepExpired(context.Background()); n != 1 || err != nil {
		t.Fatalf("sweep = %d, %v", n, err)
	}
}

func TestEnrollValidation(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	tests := []struct {
		body string
		want int
	}{
		{`{}`, 201},
		{`{"algorithm":"sha-512"}`, 201},
		{`{"algorithm":"MD5"}`, 400},
		{`{"digits":5}`, 400},
		{`{"digits":9}`, 400},
		{`{"period":0}`, 201},
		{`{"period":5}`, 400},
		{`{"period":301}`, 400},
		{`{"name":"` + strings.Repeat("n", 200) + `"}`, 400},
		{`{"name":"a\u0007b"}`, 400},
		{`{"digits":"6"}`, 400},
		{`{"secret":"JBSWY3DPEHPK3PXP"}`, 400},
	}
	for _, tt := range tests {
		r := ts.do("POST", "/api/v1/users/erin/credentials", ts.admin(), tt.body)
		if r.status != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.body, r.status, r.body, tt.want)
		}
	}
	// An empty body, also a chunked one, takes the defaults.
	req, _ := http.NewRequest("POST", ts.url+"/api/v1/users/erin/credentials", io.MultiReader(strings.NewReader(" ")))
	req.ContentLength = -1
	ts.admin()(req)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Errorf("chunked empty body: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if r := ts.do("POST", "/api/v1/users/a%07b/credentials", ts.admin(), ""); r.status != 400 {
		t.Errorf("control character in user: %d", r.status)
	}
}

func TestAuth(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	admin := []struct{ method, path string }{
		{"POST", "/api/v1/clients"},
		{"POST", "/api/v1/users/u/credentials"},
		{"GET", "/api/v1/users/u/credentials"},
		{"GET", "/api/v1/users/u/credentials/x/qr.png"},
		{"POST", "/api/v1/users/u/credentials/x/verify"},
		{"PATCH", "/api/v1/users/u/credentials/x"},
		{"DELETE", "/api/v1/users/u/credentials/x"},
		{"GET", "/api/v1/audit"},
	}
	bad := map[string]auth{
		"none":         noAuth,
		"wrong token":  bearer("nope"),
		"token prefix": bearer(adminToken_[:5]),
		"basic":        basic("admin", adminToken_),
		"client":       ts.client(),
	}
	for _, a := range admin {
		for name, au := range bad {
			if r := ts.do(a.method, a.path, au, `{}`); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %s: %d", a.method, a.path, name, r.status)
			}
		}
	}
	for name, au := range map[string]auth{
		"none": noAuth, "admin token": ts.admin(), "wrong secret": basic(ts.clientID, "x"),
		"unknown client": basic("lk_nope", ts.clientSecret), "empty": basic("", ""),
	} {
		r := ts.do("POST", "/api/v1/verify", au, `{"user":"u","code":"123456"}`)
		want := "invalid_client"
		if name == "admin token" {
			want = "invalid_token" // a Bearer value is taken as an access token (RFC 6750)
		}
		if r.status != 401 || r.json(t)["error"] != want {
			t.Errorf("verify with %s: %d %s", name, r.status, r.body)
		}
	}
	// A new client works at once and its secret is stored hashed.
	r := ts.do("POST", "/api/v1/clients", ts.admin(), `{"name":"shop"}`)
	m := r.json(t)
	if r.status != 201 || m["client_id"] == "" || len(m["client_secret"].(string)) < 40 {
		t.Fatalf("create client: %d %s", r.status, r.body)
	}
	c, _ := ts.store.Client(context.Background(), m["client_id"].(string))
	if bytes.Contains(c.SecretHash, []byte(m["client_secret"].(string))) || len(c.SecretHash) != 32 {
		t.Fatal("client secret stored in the clear")
	}
	if r := ts.do("POST", "/api/v1/verify", basic(m["client_id"].(string), m["client_secret"].(string)), `{"user":"u","code":"123456"}`); r.status != 200 {
		t.Fatalf("new client: %d %s", r.status, r.body)
	}
	if r := ts.do("POST", "/api/v1/clients", ts.admin(), `{"name":""}`); r.status != 400 {
		t.Fatalf("client without a name: %d", r.status)
	}
}

// TestBodies: oversized bodies get 413 and malformed ones 400, never 500.
func TestBodies(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t), func(c *Config) { c.MaxBody = 1024 })
	e := ts.enroll("frank", "")
	endpoints := []struct {
		method, path string
		a            auth
	}{
		{"POST", "/api/v1/clients", ts.admin()},
		{"POST", "/api/v1/users/frank/credentials", ts.admin()},
		{"POST", "/api/v1/users/frank/credentials/" + e.ID + "/verify", ts.admin()},
		{"PATCH", "/api/v1/users/frank/credentials/" + e.ID, ts.admin()},
		{"POST", "/api/v1/verify", ts.client()},
	}
	bodies := []struct {
		name, body string
		want       int
	}{
		{"oversized", `{"name":"` + strings.Repeat("a", 2000) + `"}`, 413},
		{"oversized garbage", strings.Repeat("{", 5000), 413},
		{"not json", "hello", 400},
		{"truncated", `{"name":`, 400},
		{"array", `[1,2]`, 400},
		{"string", `"x"`, 400},
		{"null", `null`, 400},
		{"two objects", `{}{}`, 400},
		{"unknown field", `{"bogus":1}`, 400},
		{"wrong type", `{"name":1,"code":2,"user":3}`, 400},
		{"invalid utf-8 (replaced by U+FFFD)", "{\"name\":\"\xff\xfe\"}", 0},
		{"deep nesting", strings.Repeat("[", 500) + strings.Repeat("]", 500), 400},
	}
	for _, ep := range endpoints {
		for _, b := range bodies {
			r := ts.do(ep.method, ep.path, ep.a, b.body)
			if r.status >= 500 || (b.want != 0 && r.status != b.want && !(b.name == "null" && r.status < 500)) {
				t.Errorf("%s %s, %s: %d %s; want %d", ep.method, ep.path, b.name, r.status, r.body, b.want)
			}
		}
	}
	// A wrong Content-Type is refused too.
	req, _ := http.NewRequest("POST", ts.url+"/api/v1/verify", strings.NewReader(`{"user":"u","code":"1"}`))
	req.Header.Set("Content-Type", "text/plain")
	ts.client()(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("text/plain body: %d", resp.StatusCode)
	}
}

// TestVerifyRace: 50 goroutines submit one valid code at once; exactly
// one is told valid, on each backend.
func TestVerifyRace(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ts := newTestServer(t, b.open(t))
			e := ts.enrollVerified("gina")
			code := e.gen.At(ts.clock.Now())
			valid, replayed := raceVerify(t, []string{ts.url}, ts.clientID, ts.clientSecret, "gina", code, 50)
			if valid != 1 || replayed != 49 {
				t.Fatalf("%d valid, %d replayed; want 1 and 49", valid, replayed)
			}
		})
	}
}

// TestVerifyRaceTwoInstances: two servers on one PostgreSQL database.
func TestVerifyRaceTwoInstances(t *testing.T) {
	dsn := newPostgresDB(t)
	open := func() Store {
		st, err := OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := newTestServer(t, open())
	b := newTestServer(t, open(), func(c *Config) { c.Now = a.clock.Now })
	e := a.enrollVerified("hank")
	for round := range 3 {
		code := e.gen.At(a.clock.Now())
		// b authenticates a's client through the shared database.
		valid, replayed := raceVerify(t, []string{a.url, b.url}, a.clientID, a.clientSecret, "hank", code, 50)
		if valid != 1 || replayed != 49 {
			t.Fatalf("round %d: %d valid, %d replayed across two instances; want 1 and 49", round, valid, replayed)
		}
		a.clock.Add(30 * time.Second)
	}
}

func raceVerify(t *testing.T, urls []string, id, secret, user, code string, n int) (valid, replayed int) {
	t.Helper()
	var v, rp atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	body := `{"user":"` + user + `","code":"` + code + `"}`
	for i := range n {
		wg.Go(func() {
			<-start
			r := doRequest(t, urls[i%len(urls)], "POST", "/api/v1/verify", basic(id, secret), body)
			var m map[string]any
			json.Unmarshal(r.body, &m)
			switch {
			case r.status == 200 && m["valid"] == true:
				v.Add(1)
			case m["reason"] == "replayed":
				rp.Add(1)
			default:
				t.Errorf("unexpected answer %d %s", r.status, r.body)
			}
		})
	}
	close(start)
	wg.Wait()
	return int(v.Load()), int(rp.Load())
}

// stallStore stalls reads until the request's context ends.
type stallStore struct{ Store }

func (s stallStore) VerifiedCredentials(ctx context.Context, user string) ([]Credential, UserState, error) {
	<-ctx.Done()
	return nil, UserState{}, ctx.Err()
}

func TestRequestTimeout(t *testing.T) {
	ts := newTestServer(t, stallStore{openTestSQLite(t)}, func(c *Config) { c.RequestTimeout = 50 * time.Millisecond })
	r := ts.verify("kim", "123456")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("stalled store: %d %s", r.status, r.body)
	}
}

// TestMetricsToken: with a metrics token, /metrics answers only to it
// (not to the admin token, nor without one); without, it stays open.
func TestMetricsToken(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t), func(c *Config) { c.MetricsToken = "scrape-me" })
	for i, a := range []auth{noAuth, bearer("wrong"), bearer(adminToken_), basic("scrape-me", "")} {
		r := ts.do("GET", "/metrics", a, "")
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" || bytes.Contains(r.body, []byte("latchkey_")) {
			t.Errorf("case %d: %d %s", i, r.status, r.body)
		}
	}
	if r := ts.do("GET", "/metrics", bearer("scrape-me"), ""); r.status != http.StatusOK || !bytes.Contains(r.body, []byte("latchkey_lockouts_total")) {
		t.Fatalf("with the token: %d %s", r.status, r.body)
	}
	open := newTestServer(t, openTestSQLite(t))
	if r := open.do("GET", "/metrics", noAuth, ""); r.status != http.StatusOK {
		t.Fatalf("without a metrics token: %d", r.status)
	}
}
