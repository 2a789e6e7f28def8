package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"latchkey/core/enroll"
	"latchkey/core/testenv"
)

// buildCLI compiles the latchkey command (pure Go, as `make build-cli`).
func buildCLI(tb testing.TB) string {
	tb.Helper()
	goTool := testenv.Tool(tb, "go")
	bin := filepath.Join(tb.TempDir(), "latchkey")
	cmd := exec.Command(goTool, "build", "-o", bin, "latchkey/tui/cmd/latchkey")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build latchkey: %v\n%s", err, out)
	}
	return bin
}

const adminToken = "e2e-desktop-admin-Vb7Qx3mK9pLw2nZ5cR8tY4hJ"

// signinServer is a real `latchkey serve` on loopback with an OpenID
// issuer and one CIBA client, "Shop", authenticating with a secret.
type signinServer struct {
	tb           testing.TB
	base         string
	admin        enroll.Admin
	clientID     string
	clientSecret string
}

// serve starts `latchkey serve` (SQLite in a temporary data directory)
// on a free loopback port, waits until it is healthy and registers the
// CIBA client through the admin API.
func serve(tb testing.TB, cli string) *signinServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	dir := tb.TempDir()
	cmd := exec.Command(cli, "serve", "--addr", addr, "--public-url", base)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LATCHKEY_HOME=" + filepath.Join(dir, "server"),
		"LATCHKEY_ADMIN_TOKEN=" + adminToken}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(30 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("latchkey serve on %s never became healthy:\n%s", addr, stderr.String())
		}
	}
	s := &signinServer{tb: tb, base: base, admin: enroll.Admin{Server: base, Token: adminToken}}
	req, _ := http.NewRequest("POST", base+"/api/v1/clients",
		strings.NewReader(`{"name":"Shop","grant_types":["urn:openid:params:grant-type:ciba"]}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if json.Unmarshal(b, &c); c.ID == "" || c.Secret == "" {
		tb.Fatalf("register the CIBA client: %s", b)
	}
	s.clientID, s.clientSecret = c.ID, c.Secret
	return s
}

// pair enrolls user with the real `latchkey enroll LINK` into the file
// store at storeHome (created there if it is new, as for a new user),
// which also pairs the device for sign-in requests.
func (s *signinServer) pair(cli, storeHome, user string) {
	s.tb.Helper()
	c, err := s.admin.Create(context.Background(), user, "Desktop")
	if err != nil {
		s.tb.Fatal(err)
	}
	cmd := exec.Command(cli, "enroll", c.EnrollmentLink)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.tb.TempDir(), "LATCHKEY_HOME=" + storeHome,
		"LATCHKEY_STORE=file", "LATCHKEY_PASSPHRASE=" + passphrase, "LATCHKEY_AGENT=off"}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "paired") {
		s.tb.Fatalf("latchkey enroll: %v\n%s", err, out)
	}
}

// post sends a form to the server as the CIBA client (client_secret_basic).
func (s *signinServer) post(path string, form url.Values) map[string]any {
	s.tb.Helper()
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.clientID, s.clientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		s.tb.Fatalf("POST %s: %s: %v", path, resp.Status, err)
	}
	return m
}

// authorize is the client's bc-authorize for user with a binding message;
// expiry, when not zero, is its requested_expiry. It returns auth_req_id.
func (s *signinServer) authorize(user, message string, expiry time.Duration) string {
	s.tb.Helper()
	form := url.Values{"scope": {"openid"}, "login_hint": {user}, "binding_message": {message}}
	if expiry > 0 {
		form.Set("requested_expiry", strconv.Itoa(int(expiry.Seconds())))
	}
	m := s.post("/oauth2/bc-authorize", form)
	id, _ := m["auth_req_id"].(string)
	if id == "" {
		s.tb.Fatalf("bc-authorize: %v", m)
	}
	return id
}

// token is one poll of the token endpoint for request id.
func (s *signinServer) token(id string) map[string]any {
	s.tb.Helper()
	return s.post("/oauth2/token", url.Values{"grant_type": {"urn:openid:params:grant-type:ciba"}, "auth_req_id": {id}})
}

// verify checks an id_token with go-oidc against the server's discovery
// document and JWKS, and returns its subject.
func (s *signinServer) verify(raw string) string {
	s.tb.Helper()
	ctx := context.Background()
	p, err := gooidc.NewProvider(ctx, s.base)
	if err != nil {
		s.tb.Fatal(err)
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: s.clientID}).Verify(ctx, raw)
	if err != nil {
		s.tb.Fatalf("go-oidc refuses the id_token: %v", err)
	}
	return idt.Subject
}
