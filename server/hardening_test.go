package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHealthzWrites: /healthz fails when the database answers reads but
// refuses writes.
func TestHealthzWrites(t *testing.T) {
	st := openTestSQLite(t)
	ts := newTestServer(t, st)
	if r := ts.do("GET", "/healthz", noAuth, ""); r.status != http.StatusOK {
		t.Fatalf("healthy: %d", r.status)
	}
	// The writer is one connection: make it refuse writes.
	if _, err := st.(*sqlStore).wdb.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	if r := ts.do("GET", "/healthz", noAuth, ""); r.status != http.StatusServiceUnavailable {
		t.Fatalf("a database that takes no write: %d", r.status)
	}
}

// TestUserIDs: user ids are trimmed and put in NFC at the API, and
// invisible and direction-changing characters are refused.
func TestUserIDs(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	if r := ts.do("POST", "/api/v1/users/%20jos%C3%A9%20/credentials", ts.admin(), ""); r.status != http.StatusCreated {
		t.Fatalf("enroll %q: %d %s", " josé ", r.status, r.body)
	}
	// "jose" + U+0301 (combining acute) is the same user in NFC.
	r := ts.do("GET", "/api/v1/users/jose%CC%81/credentials", ts.admin(), "")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"user":"josé"`) || strings.Count(string(r.body), `"id"`) != 1 {
		t.Fatalf("decomposed spelling: %d %s", r.status, r.body)
	}
	for _, bad := range []string{"a%E2%80%8Bb", "admin%E2%80%AEnimda", "x%E2%81%A6y", "x%E2%80%8Ey", "x%EF%BB%BFy", "x%C2%ADy"} {
		if r := ts.do("POST", "/api/v1/users/"+bad+"/credentials", ts.admin(), ""); r.status != http.StatusBadRequest {
			t.Errorf("user %s: %d", bad, r.status)
		}
	}
	if r := ts.verify(" jose\u0301 ", "123456"); r.status != http.StatusOK || !strings.Contains(string(r.body), "no_credential") {
		t.Fatalf("verify with an untrimmed decomposed id: %d %s", r.status, r.body)
	}
}

// TestIssuerColon: an issuer with ':' would be split from the label by
// authenticator apps; it is refused.
func TestIssuerColon(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	if r := ts.do("POST", "/api/v1/users/amy/credentials", ts.admin(), `{"issuer":"Acme: VPN"}`); r.status != http.StatusBadRequest {
		t.Fatalf("issuer with ':': %d %s", r.status, r.body)
	}
	kr, _ := NewKeyring(testKey(1))
	if _, err := New(Config{Store: openTestSQLite(t), Keyring: kr, Issuer: "Acme:VPN"}); err == nil {
		t.Fatal("a configured issuer with ':' was taken")
	}
}

// TestSecretStrength: weak admin tokens and helpdesk passwords are
// refused at start.
func TestSecretStrength(t *testing.T) {
	tokens := []struct {
		token string
		ok    bool
	}{
		{strings.Repeat("A", 21) + "-", true},   // 22 base64url: 132 bits
		{strings.Repeat("A", 20) + "-", false},  // 21: 126 bits
		{strings.Repeat("ab12", 8), true},       // 32 hex: 128 bits
		{strings.Repeat("ab12", 8)[:31], false}, // 31 hex
		{strings.Repeat("7", 39), true},         // 39 digits: 129.6 bits
		{strings.Repeat("7", 38), false},
		{"test-admin-token", false},
		{"t", false},
	}
	kr, _ := NewKeyring(testKey(1))
	st := openTestSQLite(t)
	for _, tc := range tokens {
		_, err := New(Config{Store: st, Keyring: kr, AdminToken: tc.token, Now: time.Now})
		if (err == nil) != tc.ok {
			t.Errorf("admin token %q (%.1f bits): err %v, want ok=%v", tc.token, tokenBits(tc.token), err, tc.ok)
		}
	}
	passwords := []struct {
		pw string
		ok bool
	}{
		{"desk password", true},
		{"short pass", false},
		{"1qaz2wsx3edc", false}, // on the common list
		{"1QAZ2WSX3EDC", false}, // the list is matched without case
		{"front desk 42", true},
	}
	for _, tc := range passwords {
		_, err := New(Config{Store: st, Keyring: kr, AdminToken: adminToken_, HelpdeskPassword: tc.pw})
		if (err == nil) != tc.ok {
			t.Errorf("helpdesk password %q: err %v, want ok=%v", tc.pw, err, tc.ok)
		}
	}
	if n := len(commonPasswords()); n < 10000 {
		t.Errorf("the common password list holds %d, want at least 10,000", n)
	}
}

// TestPublicURLWarning: listening beyond loopback without public_url is
// warned about at start.
func TestPublicURLWarning(t *testing.T) {
	key, _ := NewKey()
	env := envMap{"HOME": t.TempDir(), "LATCHKEY_ADMIN_TOKEN": runToken, "LATCHKEY_MASTER_KEY": b64(key)}
	for _, tc := range []struct {
		addr string
		warn bool
	}{{"0.0.0.0:0", true}, {"127.0.0.1:0", false}} {
		ctx, cancel := context.WithCancel(context.Background())
		stdout, stderr := &syncBuffer{}, &syncBuffer{}
		done := make(chan error, 1)
		go func() { done <- Run(ctx, []string{"--addr", tc.addr}, env.get, strings.NewReader(""), stdout, stderr) }()
		for i := 0; i < 200 && !strings.Contains(stdout.String(), "listening on"); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(stderr.String(), "without public_url"); got != tc.warn {
			t.Errorf("%s: warned %v, want %v: %s", tc.addr, got, tc.warn, stderr.String())
		}
	}
}
