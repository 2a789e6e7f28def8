package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// childArgsEnv, when set, makes the test binary run the server (Run with
// these JSON-encoded arguments) instead of the tests: the SIGKILL test
// runs the server as a child process this way.
const childArgsEnv = "LATCHKEY_TEST_SERVE_ARGS"

// runToken is the admin token of the servers these tests run.
const runToken = "run-admin-token-0123456789abcdef"

func TestMain(m *testing.M) {
	if args := os.Getenv(childArgsEnv); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := Run(ctx, a, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(t testing.TB, client *http.Client, url string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("server exited before it was healthy: %v", err)
		default:
		}
		resp, err := client.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/healthz never answered 200", url)
}

type envMap map[string]string

func (e envMap) get(k string) string { return e[k] }

// running is a server started through Run in this process.
type running struct {
	url            string
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan error
}

func startRun(t *testing.T, env envMap, args ...string) *running {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{url: "http://" + addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- Run(ctx, append([]string{"--addr", addr}, args...), env.get, strings.NewReader(""), r.stdout, r.stderr)
	}()
	t.Cleanup(func() { r.stop(t) })
	waitHealthy(t, http.DefaultClient, r.url, r.done)
	return r
}

// stop cancels Run's context (what SIGTERM does) and waits for a clean
// return.
func (r *running) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestRunEndToEnd(t *testing.T) {
	home := t.TempDir()
	env := envMap{"HOME": home}
	r := startRun(t, env)
	dir := filepath.Join(home, ".local", "share", "latchkey")
	for _, f := range []string{"admin-token", "master.key", "server.db"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	tokb, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	tok := strings.TrimSpace(string(tokb))
	if !strings.Contains(r.stderr.String(), filepath.Join(dir, "admin-token")) || strings.Contains(r.stderr.String(), tok) {
		t.Fatalf("the log should name the token file and never hold the token: %s", r.stderr)
	}
	if !strings.Contains(r.stdout.String(), "listening on "+r.url) {
		t.Fatalf("stdout %q", r.stdout)
	}

	// The whole flow against the real clock: a client, an enrollment, its
	// confirmation, a sign-in with the next step's code (window ±1).
	admin := bearer(tok)
	cr := doRequest(t, r.url, "POST", "/api/v1/clients", admin, `{"name":"e2e"}`).json(t)
	client := basic(cr["client_id"].(string), cr["client_secret"].(string))
	er := doRequest(t, r.url, "POST", "/api/v1/users/ivy/credentials", admin, `{"name":"phone"}`)
	var e enrolled
	json.Unmarshal(er.body, &e)
	k, err := otpauth.Parse(e.URI)
	if err != nil {
		t.Fatalf("enroll: %d %s", er.status, er.body)
	}
	g, _ := k.Generator()
	now := time.Now()
	if c := doRequest(t, r.url, "POST", "/api/v1/users/ivy/credentials/"+e.ID+"/verify", admin, `{"code":"`+g.At(now)+`"}`); c.status != 200 {
		t.Fatalf("confirm: %d %s", c.status, c.body)
	}
	next := g.Code(otp.Step(now, 30) + 1)
	v := doRequest(t, r.url, "POST", "/api/v1/verify", client, `{"user":"ivy","code":"`+next+`"}`).json(t)
	if v["valid"] != true {
		t.Fatalf("verify: %v", v)
	}
	v = doRequest(t, r.url, "POST", "/api/v1/verify", client, `{"user":"ivy","code":" `+next+` "}`).json(t)
	if v["reason"] != "replayed" {
		t.Fatalf("replay with spaces: %v", v)
	}
	if m := doRequest(t, r.url, "GET", "/metrics", noAuth, ""); !bytes.Contains(m.body, []byte(`latchkey_verifications_total{outcome="valid"} 1`)) {
		t.Fatalf("metrics: %s", m.body)
	}
	r.stop(t)
	logs := r.stderr.String()
	for _, s := range []string{e.Secret, next, tok, cr["client_secret"].(string)} {
		if strings.Contains(logs, s) {
			t.Fatalf("logs hold a secret, token or code: %s", logs)
		}
	}
	if !strings.Contains(logs, `"msg":"shutting down"`) || !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("no graceful shutdown in the logs: %s", logs)
	}

	// Another master key cannot open the secrets: the server refuses to
	// start rather than fail every verification.
	other, _ := NewKey()
	bad := envMap{"HOME": home, "LATCHKEY_MASTER_KEY": b64(other)}
	if err := Run(context.Background(), []string{"--addr", freeAddr(t)}, bad.get, nil, io.Discard, io.Discard); !errors.Is(err, ErrUnknown) {
		t.Fatalf("start with another key: %v, want ErrUnknown", err)
	}

	// Restart: same token file, same key, the credential still verifies;
	// LATCHKEY_ADMIN_TOKEN replaces the file's token.
	env["LATCHKEY_ADMIN_TOKEN"] = "env-admin-token-0123456789abcdef"
	r = startRun(t, env)
	if s := doRequest(t, r.url, "GET", "/api/v1/users/ivy/credentials", bearer("env-admin-token-0123456789abcdef"), ""); s.status != 200 || !bytes.Contains(s.body, []byte(`"verified":true`)) {
		t.Fatalf("after restart: %d %s", s.status, s.body)
	}
	if s := doRequest(t, r.url, "GET", "/api/v1/users/ivy/credentials", admin, ""); s.status != 401 {
		t.Fatalf("file token with LATCHKEY_ADMIN_TOKEN set: %d", s.status)
	}
}

func TestRunConfigAndUsage(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"db":"`+filepath.Join(dir, "x.db")+`","window":0,"max_failures":2,"issuer":"Conf","public_url":"https://auth.example.com"}`), 0o600)
	key, _ := NewKey()
	env := envMap{"HOME": dir, "LATCHKEY_ADMIN_TOKEN": runToken, "LATCHKEY_METRICS_TOKEN": "m", "LATCHKEY_MASTER_KEY": "  " + b64(key) + "\n"}
	r := startRun(t, env, "--config", cfg, "--max-failures", "3")
	e := doRequest(t, r.url, "POST", "/api/v1/users/jo/credentials", bearer(runToken), "")
	if !bytes.Contains(e.body, []byte("issuer=Conf")) {
		t.Fatalf("config issuer not used: %s", e.body)
	}
	if !bytes.Contains(e.body, []byte(`"enrollment_link":"https://auth.example.com/enroll#`)) {
		t.Fatalf("config public_url not used: %s", e.body)
	}
	if m := doRequest(t, r.url, "GET", "/metrics", bearer(runToken), ""); m.status != http.StatusUnauthorized {
		t.Fatalf("/metrics with LATCHKEY_METRICS_TOKEN set, admin token: %d", m.status)
	}
	if m := doRequest(t, r.url, "GET", "/metrics", bearer("m"), ""); m.status != http.StatusOK {
		t.Fatalf("/metrics with its token: %d", m.status)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err != nil {
		t.Fatalf("config db not used: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "master.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was created although LATCHKEY_MASTER_KEY is set: %v", err)
	}
	r.stop(t)

	tests := []struct {
		name string
		args []string
		env  envMap
		want error
	}{
		{"unknown flag", []string{"--bogus"}, env, ErrUsage},
		{"argument", []string{"extra"}, env, ErrUsage},
		{"cert without key", []string{"--tls-cert", "c.pem"}, env, ErrUsage},
		{"public url with a path", []string{"--public-url", "https://auth.example.com/latchkey"}, env, ErrUsage},
		{"window 3", []string{"--window", "3", "--db", filepath.Join(dir, "y.db")}, env, nil},
		{"bad master key", []string{"--db", filepath.Join(dir, "z.db")}, envMap{"HOME": dir, "LATCHKEY_MASTER_KEY": "short"}, ErrKey},
		{"missing key file", []string{"--db", filepath.Join(dir, "z.db"), "--key-file", filepath.Join(dir, "none")}, env, os.ErrNotExist},
		{"missing config", []string{"--config", filepath.Join(dir, "none.json")}, env, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Run(context.Background(), tt.args, tt.env.get, nil, &out, &out)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Run = %v, want %v", err, tt.want)
			}
		})
	}
	var out bytes.Buffer
	if err := Run(context.Background(), []string{"--help"}, env.get, nil, &out, &out); err != nil || !strings.Contains(out.String(), "--tls-cert") {
		t.Fatalf("--help: %v %q", err, out.String())
	}
}

func b64(k []byte) string {
	var b bytes.Buffer
	WriteKeyFileTo(&b, k)
	return strings.TrimSpace(b.String())
}

func TestRunTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	env := envMap{"HOME": dir, "LATCHKEY_ADMIN_TOKEN": runToken}
	var out syncBuffer
	go func() {
		done <- Run(ctx, []string{"--addr", addr, "--tls-cert", certFile, "--tls-key", keyFile}, env.get, nil, &out, &out)
	}()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	waitHealthy(t, client, "https://"+addr, done)
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the TLS port")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
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

func TestRotateKey(t *testing.T) {
	home := t.TempDir()
	env := envMap{"HOME": home, "LATCHKEY_ADMIN_TOKEN": runToken}
	r := startRun(t, env)
	var ids []string
	var gens []*otp.Generator
	for i := range 3 {
		var e enrolled
		json.Unmarshal(doRequest(t, r.url, "POST", fmt.Sprintf("/api/v1/users/u%d/credentials", i), bearer(runToken), "").body, &e)
		k, _ := otpauth.Parse(e.URI)
		g, _ := k.Generator()
		ids, gens = append(ids, e.ID), append(gens, g)
	}
	r.stop(t)
	dir := filepath.Join(home, ".local", "share", "latchkey")
	keyPath := filepath.Join(dir, "master.key")
	oldKey, _ := ReadKeyFile(keyPath)

	var out bytes.Buffer
	if err := Run(context.Background(), []string{"rotate-key"}, env.get, nil, &out, &out); err != nil {
		t.Fatalf("rotate-key: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "re-encrypted 3 secrets") {
		t.Fatalf("rotate-key said %q", out.String())
	}
	newKey, _ := ReadKeyFile(keyPath)
	if bytes.Equal(oldKey, newKey) {
		t.Fatal("the key file still holds the old key")
	}
	if _, err := os.Stat(keyPath + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rotation left %s.new: %v", keyPath, err)
	}
	st, err := OpenSQLite(context.Background(), filepath.Join(dir, "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	oldKR, _ := NewKeyring(oldKey)
	for i, id := range ids {
		c, _ := st.Credential(context.Background(), fmt.Sprintf("u%d", i), id)
		if _, err := oldKR.Open(c.Secret, c.User, c.ID); !errors.Is(err, ErrUnknown) {
			t.Fatalf("credential %d still opens with the old key: %v", i, err)
		}
	}
	st.Close()

	// The restarted server confirms with the re-encrypted secrets.
	r = startRun(t, env)
	for i, id := range ids {
		c := doRequest(t, r.url, "POST", fmt.Sprintf("/api/v1/users/u%d/credentials/%s/verify", i, id), bearer(runToken), `{"code":"`+gens[i].At(time.Now())+`"}`)
		if c.status != 200 {
			t.Fatalf("confirm after rotation: %d %s", c.status, c.body)
		}
	}
	r.stop(t)
	// With the key in the environment, the new key must go to a file.
	env["LATCHKEY_MASTER_KEY"] = b64(newKey)
	if err := Run(context.Background(), []string{"rotate-key"}, env.get, nil, &out, &out); err == nil {
		t.Fatal("rotate-key with LATCHKEY_MASTER_KEY and no --new-key-file succeeded")
	}
	nk := filepath.Join(home, "next.key")
	if err := Run(context.Background(), []string{"rotate-key", "--new-key-file", nk}, env.get, nil, &out, &out); err != nil {
		t.Fatalf("rotate-key --new-key-file: %v", err)
	}
	if fi, err := os.Stat(nk); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new key file: %v", err)
	}
}

// TestSIGKILL runs the server as a child process, enrolls and confirms
// credentials from 8 connections, kills the server with SIGKILL under
// that load, restarts it on the same database and finds every
// acknowledged enrollment and confirmation.
func TestSIGKILL(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	args, _ := json.Marshal([]string{"--addr", addr, "--db", filepath.Join(dir, "server.db"), "--key-file", filepath.Join(dir, "k")})
	key, _ := NewKey()
	WriteKeyFile(filepath.Join(dir, "k"), key)
	start := func() (*exec.Cmd, chan error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args), "LATCHKEY_ADMIN_TOKEN="+runToken)
		var logs syncBuffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		waitHealthy(t, http.DefaultClient, url, done)
		return cmd, done
	}
	cmd, done := start()

	type acked struct {
		user, id  string
		confirmed bool
	}
	var mu sync.Mutex
	var acks []acked
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := range 8 {
		wg.Go(func() {
			user := fmt.Sprintf("load%d", w)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", url+"/api/v1/users/"+user+"/credentials", nil)
				req.Header.Set("Authorization", "Bearer "+runToken)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				var e enrolled
				json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				if resp.StatusCode != 201 {
					t.Errorf("enroll: %d", resp.StatusCode)
					return
				}
				mu.Lock()
				acks = append(acks, acked{user: user, id: e.ID})
				n := len(acks) - 1
				mu.Unlock()
				if i%2 == 1 {
					continue
				}
				k, _ := otpauth.Parse(e.URI)
				g, _ := k.Generator()
				req, _ = http.NewRequest("POST", url+"/api/v1/users/"+user+"/credentials/"+e.ID+"/verify", strings.NewReader(`{"code":"`+g.At(time.Now())+`"}`))
				req.Header.Set("Authorization", "Bearer "+runToken)
				resp, err = client.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acks[n].confirmed = true
					mu.Unlock()
				}
			}
		})
	}
	// Kill once a few hundred writes are acknowledged.
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 300 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	close(stop)
	wg.Wait()
	if len(acks) < 50 {
		t.Fatalf("only %d enrollments before the kill", len(acks))
	}

	cmd, done = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := <-done; err != nil {
			t.Errorf("server after SIGTERM: %v", err)
		}
	}()
	found := map[string]credentialView{}
	for w := range 8 {
		r := doRequest(t, url, "GET", fmt.Sprintf("/api/v1/users/load%d/credentials", w), bearer(runToken), "")
		var list struct{ Credentials []credentialView }
		json.Unmarshal(r.body, &list)
		for _, c := range list.Credentials {
			found[c.ID] = c
		}
	}
	confirmed := 0
	for _, a := range acks {
		c, ok := found[a.id]
		if !ok {
			t.Fatalf("acknowledged enrollment %s of %s lost after SIGKILL", a.id, a.user)
		}
		if a.confirmed {
			confirmed++
			if !c.Verified {
				t.Fatalf("acknowledged confirmation of %s lost after SIGKILL", a.id)
			}
		}
	}
	t.Logf("%d acknowledged enrollments (%d confirmed) all present after SIGKILL", len(acks), confirmed)
}

// TestVerifyRaceTwoProcesses: a server in a child process and one in
// this process share one PostgreSQL database; 50 concurrent submissions
// of one code, spread over both, get exactly one "valid".
func TestVerifyRaceTwoProcesses(t *testing.T) {
	dsn := newPostgresDB(t)
	key, _ := NewKey()
	env := envMap{"HOME": t.TempDir(), "LATCHKEY_ADMIN_TOKEN": runToken, "LATCHKEY_MASTER_KEY": b64(key)}
	local := startRun(t, env, "--db", dsn)

	addr := freeAddr(t)
	args, _ := json.Marshal([]string{"--addr", addr, "--db", dsn})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args), "LATCHKEY_ADMIN_TOKEN="+runToken, "LATCHKEY_MASTER_KEY="+b64(key), "HOME="+t.TempDir())
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		if err := <-done; err != nil {
			t.Errorf("child: %v\n%s", err, logs.String())
		}
	}()
	remote := "http://" + addr
	waitHealthy(t, http.DefaultClient, remote, done)

	// A client made on one instance, a credential enrolled on the other.
	cr := doRequest(t, remote, "POST", "/api/v1/clients", bearer(runToken), `{"name":"race"}`).json(t)
	var e enrolled
	json.Unmarshal(doRequest(t, local.url, "POST", "/api/v1/users/zoe/credentials", bearer(runToken), "").body, &e)
	k, err := otpauth.Parse(e.URI)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := k.Generator()
	now := time.Now()
	if r := doRequest(t, remote, "POST", "/api/v1/users/zoe/credentials/"+e.ID+"/verify", bearer(runToken), `{"code":"`+g.At(now)+`"}`); r.status != 200 {
		t.Fatalf("confirm on the other instance: %d %s", r.status, r.body)
	}
	code := g.Code(otp.Step(now, 30) + 1) // within the window, never used
	valid, replayed := raceVerify(t, []string{local.url, remote}, cr["client_id"].(string), cr["client_secret"].(string), "zoe", code, 50)
	if valid != 1 || replayed != 49 {
		t.Fatalf("%d valid, %d replayed across two processes; want 1 and 49", valid, replayed)
	}
}

// TestSIGKILLAfterAccept kills the server with SIGKILL as soon as it has
// told 20 concurrent verifications "valid", restarts it on the same
// database and finds each acceptance in the audit log.
func TestSIGKILLAfterAccept(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	const tok = "sigkill-test-admin-token-0123456789"
	args, _ := json.Marshal([]string{"--addr", addr, "--db", filepath.Join(dir, "server.db"), "--key-file", filepath.Join(dir, "k")})
	key, _ := NewKey()
	WriteKeyFile(filepath.Join(dir, "k"), key)
	start := func() (*exec.Cmd, chan error) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args), "LATCHKEY_ADMIN_TOKEN="+tok)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		waitHealthy(t, http.DefaultClient, url, done)
		return cmd, done
	}
	cmd, done := start()
	r := doRequest(t, url, "POST", "/api/v1/clients", bearer(tok), `{"name":"app"}`)
	var client struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	json.Unmarshal(r.body, &client)
	const n = 20
	gens := make([]*otp.Generator, n)
	for i := range n {
		user := fmt.Sprintf("kill%d", i)
		r := doRequest(t, url, "POST", "/api/v1/users/"+user+"/credentials", bearer(tok), "")
		var e enrolled
		json.Unmarshal(r.body, &e)
		k, _ := otpauth.Parse(e.URI)
		gens[i], _ = k.Generator()
		// Confirm with the previous step's code, so the current one is new.
		code := gens[i].At(time.Now().Add(-30 * time.Second))
		if r := doRequest(t, url, "POST", "/api/v1/users/"+user+"/credentials/"+e.ID+"/verify", bearer(tok), `{"code":"`+code+`"}`); r.status != 200 {
			t.Fatalf("confirm: %d %s", r.status, r.body)
		}
	}
	time.Sleep(200 * time.Millisecond) // the enrollments' events are flushed
	var wg sync.WaitGroup
	valid := make([]bool, n)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"user":"kill%d","code":"%s"}`, i, gens[i].At(time.Now()))
			r := doRequest(t, url, "POST", "/api/v1/verify", basic(client.ClientID, client.ClientSecret), body)
			valid[i] = r.status == 200 && bytes.Contains(r.body, []byte(`"valid":true`))
		})
	}
	wg.Wait()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	for i, ok := range valid {
		if !ok {
			t.Fatalf("verification %d not valid", i)
		}
	}

	cmd, done = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
	}()
	var audit struct{ Events []Event }
	json.Unmarshal(doRequest(t, url, "GET", "/api/v1/audit?limit=1000", bearer(tok), "").body, &audit)
	logged := 0
	for _, ev := range audit.Events {
		if ev.Action == "verify" && ev.Outcome == OutcomeValid && ev.Client == client.ClientID {
			logged++
		}
	}
	if logged != n {
		t.Fatalf("%d of %d accepted verifications in the audit log after SIGKILL", logged, n)
	}
}
