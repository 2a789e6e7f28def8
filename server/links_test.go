package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/store"
)

const hdAdminToken = "helpdesk-test-admin-token"

// hdClock is a settable clock for the helpdesk and link tests.
type hdClock struct{ ns atomic.Int64 }

func (c *hdClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *hdClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// lockedBuffer collects logs written by concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hdServer is a server on a real loopback listener with a fake clock.
type hdServer struct {
	*Server
	url   string
	clock *hdClock
	logs  *lockedBuffer
}

func newHDServer(t *testing.T, st Store, mods ...func(*Config)) *hdServer {
	t.Helper()
	kr, err := NewKeyring(testKey(9))
	if err != nil {
		t.Fatal(err)
	}
	ck := &hdClock{}
	ck.ns.Store(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).UnixNano())
	logs := &lockedBuffer{}
	cfg := Config{Store: st, Keyring: kr, AdminToken: hdAdminToken, Now: ck.Now,
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
	return &hdServer{Server: s, url: hs.URL, clock: ck, logs: logs}
}

// do sends a JSON request and returns the status and body.
func (h *hdServer) do(t *testing.T, method, path, bearer string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.url+path, rd)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// memSaver is an in-memory enroll.Saver.
type memSaver struct {
	mu       sync.Mutex
	accounts map[string]store.Account
	secrets  map[string]otp.Secret
	n        int
}

func (m *memSaver) Add(_ context.Context, a store.Account, s otp.Secret, _ bool) (store.Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.accounts == nil {
		m.accounts, m.secrets = map[string]store.Account{}, map[string]otp.Secret{}
	}
	m.n++
	a.ID = string(rune('a' + m.n))
	m.accounts[a.ID] = a
	m.secrets[a.ID] = append(otp.Secret(nil), s...)
	return a, nil
}

func (m *memSaver) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.accounts, id)
	return nil
}

// createCred enrolls user through the admin API and returns the answer.
func (h *hdServer) createCred(t *testing.T, user string) enroll.Created {
	t.Helper()
	status, body := h.do(t, "POST", "/api/v1/users/"+user+"/credentials", hdAdminToken, map[string]string{"name": "Laptop"})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	var c enroll.Created
	if err := json.Unmarshal(body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (h *hdServer) verified(t *testing.T, user, id string) bool {
	t.Helper()
	status, body := h.do(t, "GET", "/api/v1/users/"+user+"/credentials", hdAdminToken, nil)
	if status != http.StatusOK {
		t.Fatalf("list: %d %s", status, body)
	}
	var out struct{ Credentials []enroll.Credential }
	json.Unmarshal(body, &out)
	for _, c := range out.Credentials {
		if c.ID == id {
			return c.Verified
		}
	}
	t.Fatalf("credential %s not listed: %s", id, body)
	return false
}

// TestLinkEndToEnd redeems a link with the enrollment client against a
// running server on both stores: the account is stored, the credential
// ends verified, and the link never works again.
func TestLinkEndToEnd(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			h := newHDServer(t, b.open(t))
			c := h.createCred(t, "alice@example.com")
			if !strings.HasPrefix(c.EnrollmentLink, h.url+"/enroll#") {
				t.Fatalf("enrollment_link = %q, want %s/enroll#TOKEN", c.EnrollmentLink, h.url)
			}
			sv := &memSaver{}
			acc, err := enroll.Enroll(context.Background(), enroll.Client{}, c.EnrollmentLink, sv, enroll.Options{Now: h.clock.Now})
			if err != nil {
				t.Fatalf("Enroll: %v", err)
			}
			if acc.Issuer != DefaultIssuer || acc.Name != "alice@example.com" || acc.Type != otp.TOTP {
				t.Errorf("account = %+v", acc)
			}
			if got := otp.EncodeSecret(sv.secrets[acc.ID]); got != c.Secret {
				t.Errorf("stored secret differs from the one issued")
			}
			if !h.verified(t, "alice@example.com", c.ID) {
				t.Error("credential not verified after Enroll")
			}
			// The second redemption is refused, and nothing is stored.
			before := len(sv.accounts)
			_, err = enroll.Enroll(context.Background(), enroll.Client{}, c.EnrollmentLink, sv, enroll.Options{Now: h.clock.Now})
			if !errors.Is(err, enroll.ErrInvalidLink) {
				t.Errorf("second Enroll: %v, want ErrInvalidLink", err)
			}
			if len(sv.accounts) != before {
				t.Error("a refused link stored an account")
			}
			// The enrollment code's step is burned: the same code cannot sign in.
			id, secret, err := h.CreateClient(context.Background(), "app")
			if err != nil {
				t.Fatal(err)
			}
			g, _ := otp.NewGenerator(sv.secrets[acc.ID], acc.Options())
			res, err := h.Verify(context.Background(), id, "alice@example.com", g.At(h.clock.Now()))
			if err != nil || res.Outcome != OutcomeReplayed {
				t.Errorf("verify with the enrollment code = %+v, %v; want replayed", res, err)
			}
			_ = secret
			if strings.Contains(h.logs.String(), c.EnrollmentLink[strings.Index(c.EnrollmentLink, "#")+1:]) {
				t.Error("a link token reached the logs")
			}
		})
	}
}

// TestLinkRefusals: reuse, expiry, a wrong token and a verified
// credential all get the same 404 body.
func TestLinkRefusals(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	token := func(c enroll.Created) string { return c.EnrollmentLink[strings.Index(c.EnrollmentLink, "#")+1:] }
	redeem := func(tok string) (int, []byte) {
		return h.do(t, "POST", "/api/v1/enroll", "", map[string]string{"token": tok})
	}

	used := h.createCred(t, "bob")
	if st, body := redeem(token(used)); st != http.StatusOK || !bytes.Contains(body, []byte(`"otpauth_uri"`)) {
		t.Fatalf("first redemption: %d %s", st, body)
	}
	_, want := redeem(token(used))

	expired := h.createCred(t, "carol")
	h.clock.Add(LinkTTL + time.Second)
	fresh := h.createCred(t, "dave")
	verifiedC := h.createCred(t, "erin")
	k, err := otpauth.Parse(verifiedC.OTPAuthURI)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := k.Generator()
	if err := h.ConfirmCredential(context.Background(), "erin", verifiedC.ID, g.At(h.clock.Now()), "admin"); err != nil {
		t.Fatal(err)
	}
	wrong := []byte(token(fresh))
	wrong[5] ^= 1
	cases := []struct{ name, token string }{
		{"reused", token(used)},
		{"expired", token(expired)},
		{"wrong", string(wrong)},
		{"malformed", "abc"},
		{"empty", ""},
		{"verified meanwhile", token(verifiedC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := redeem(tc.token)
			if st != http.StatusNotFound || !bytes.Equal(body, want) {
				t.Errorf("got %d %s, want 404 %s", st, body, want)
			}
			if bytes.Contains(body, []byte("secret")) || bytes.Contains(body, []byte("otpauth")) {
				t.Errorf("refusal reveals something: %s", body)
			}
		})
	}
	// The fresh link still works after all that.
	if st, _ := redeem(token(fresh)); st != http.StatusOK {
		t.Errorf("fresh link: %d", st)
	}
}

// TestLinkConfirm: a code for an unredeemed link is refused as an invalid
// link; a wrong code as a wrong code; a replayed one like a wrong one.
func TestLinkConfirm(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	c := h.createCred(t, "frank")
	tok := c.EnrollmentLink[strings.Index(c.EnrollmentLink, "#")+1:]
	k, _ := otpauth.Parse(c.OTPAuthURI)
	g, _ := k.Generator()
	code := g.At(h.clock.Now())
	confirm := func(code string) (int, string) {
		st, body := h.do(t, "POST", "/api/v1/enroll/confirm", "", map[string]string{"token": tok, "code": code})
		var e apiError
		json.Unmarshal(body, &e)
		return st, e.Error
	}
	if st, e := confirm(code); st != http.StatusNotFound || e != "invalid_link" {
		t.Errorf("confirm before redeeming: %d %s", st, e)
	}
	if st, _ := h.do(t, "POST", "/api/v1/enroll", "", map[string]string{"token": tok}); st != http.StatusOK {
		t.Fatalf("redeem: %d", st)
	}
	wrong := "000000"
	if wrong == code {
		wrong = "000001"
	}
	if st, e := confirm(wrong); st != http.StatusBadRequest || e != "invalid_code" {
		t.Errorf("wrong code: %d %s", st, e)
	}
	if st, _ := confirm(code); st != http.StatusOK {
		t.Errorf("right code: %d", st)
	}
	if st, e := confirm(code); st == http.StatusOK || e == "replayed" {
		t.Errorf("replayed code: %d %s", st, e)
	}
}

// TestLinkRace: of many concurrent redemptions of one link, one wins.
func TestLinkRace(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			h := newHDServer(t, b.open(t))
			c := h.createCred(t, "gina")
			tok := c.EnrollmentLink[strings.Index(c.EnrollmentLink, "#")+1:]
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r, err := h.RedeemLink(context.Background(), tok); err == nil {
						wins.Add(1)
						r.Key.Secret.Wipe()
					} else if !errors.Is(err, ErrInvalidLink) {
						t.Errorf("RedeemLink: %v", err)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Errorf("%d redemptions won, want 1", wins.Load())
			}
		})
	}
}

// TestLinkPage: opening the link in a browser explains it and spends
// nothing (the token never reaches the server).
func TestLinkPage(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	c := h.createCred(t, "hal")
	resp, err := http.Get(c.EnrollmentLink)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("latchkey enroll")) {
		t.Errorf("GET link: %d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("link page may be cached")
	}
	if _, err := enroll.Enroll(context.Background(), enroll.Client{}, c.EnrollmentLink, &memSaver{}, enroll.Options{Now: h.clock.Now}); err != nil {
		t.Errorf("Enroll after the page was opened: %v", err)
	}
}

// TestEnrollRollsBack: when the server refuses the code (a clock far
// off), the stored account is removed again.
func TestEnrollRollsBack(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t))
	c := h.createCred(t, "ivy")
	sv := &memSaver{}
	off := func() time.Time { return h.clock.Now().Add(-time.Hour) }
	_, err := enroll.Enroll(context.Background(), enroll.Client{}, c.EnrollmentLink, sv, enroll.Options{Now: off})
	if !errors.Is(err, enroll.ErrCodeRejected) {
		t.Fatalf("Enroll with a wrong clock: %v, want ErrCodeRejected", err)
	}
	if len(sv.accounts) != 0 {
		t.Errorf("%d accounts left behind", len(sv.accounts))
	}
}

func FuzzLinkRequest(f *testing.F) {
	f.Add([]byte(`{"token":"abc"}`))
	f.Add([]byte(`{"token":"abc","code":"123456"}`))
	f.Add([]byte(`{"token":1}`))
	f.Add([]byte(`{"token":"a","extra":true}`))
	f.Add([]byte(`{}  {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeBytes[linkRequest](b)
		if err != nil {
			if !errors.Is(err, errBody) {
				t.Fatalf("error %v does not wrap errBody", err)
			}
			return
		}
		out, _ := json.Marshal(req)
		again, err := decodeBytes[linkRequest](out)
		if err != nil || again != req {
			t.Fatalf("round trip: %+v -> %s -> %+v, %v", req, out, again, err)
		}
	})
}

// TestPublicURL: behind a TLS-terminating proxy, enrollment links are
// built on the configured public URL, not on the Host the proxy sent,
// and the helpdesk's cookies are Secure although the request itself
// came over plain HTTP.
func TestPublicURL(t *testing.T) {
	h := newHDServer(t, openTestSQLite(t), func(c *Config) { c.PublicURL = "https://auth.example.com/" })
	c := h.createCred(t, "alice@example.com")
	if !strings.HasPrefix(c.EnrollmentLink, "https://auth.example.com/enroll#") || len(c.EnrollmentLink) <= len("https://auth.example.com/enroll#") {
		t.Fatalf("enrollment_link = %q", c.EnrollmentLink)
	}
	b := newBrowser(t, h)
	first := b.get("/helpdesk")
	if c := cookieNamed(first.header, csrfCookie); c == nil || !c.Secure {
		t.Errorf("CSRF cookie behind an https public URL: %+v", c)
	}
	// Without one, the link follows the request, and cookies over plain
	// HTTP are not Secure.
	plain := newHDServer(t, openTestSQLite(t))
	if c := plain.createCred(t, "bob@example.com"); !strings.HasPrefix(c.EnrollmentLink, plain.url+"/enroll#") {
		t.Fatalf("enrollment_link = %q, want %s/enroll#...", c.EnrollmentLink, plain.url)
	}
	if c := cookieNamed(newBrowser(t, plain).get("/helpdesk").header, csrfCookie); c == nil || c.Secure {
		t.Errorf("CSRF cookie over plain HTTP: %+v", c)
	}
}

func TestParsePublicURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://auth.example.com":  "https://auth.example.com",
		"https://auth.example.com/": "https://auth.example.com",
		"http://10.0.0.1:8080":      "http://10.0.0.1:8080",
		"https://[::1]:8443/":       "https://[::1]:8443",
	} {
		if got, err := ParsePublicURL(in); err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "auth.example.com", "/enroll", "ftp://auth.example.com", "https://",
		"https://:443", "https://u:p@auth.example.com", "https://auth.example.com/latchkey", "https://auth.example.com?x=1",
		"https://auth.example.com/#top", "https://auth.example.com:", "https://auth example.com", "mailto:a@b"} {
		if got, err := ParsePublicURL(in); err == nil {
			t.Errorf("%q accepted as %q", in, got)
		}
	}
	kr, err := NewKeyring(testKey(9))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{Store: openTestSQLite(t), Keyring: kr, PublicURL: "https://x/path"}); err == nil {
		t.Error("New accepted a public URL with a path")
	}
}
