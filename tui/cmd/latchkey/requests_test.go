package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/otpauth"
	"latchkey/server"
)

// cibaServer runs a real server with an OpenID issuer and returns its
// URL, an admin client, and a CIBA client's id and secret.
func cibaServer(t *testing.T) (string, enroll.Admin, string, string) {
	t.Helper()
	st, err := server.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := server.NewKey()
	kr, _ := server.NewKeyring(key)
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	s, err := server.New(server.Config{Store: st, Keyring: kr, AdminToken: "cli-test-token-rWq8pZx3kLm5nB7vC9dF2gH4j", PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = s
	hs.Start()
	t.Cleanup(func() { hs.Close(); s.Close(); st.Close() })
	req, _ := http.NewRequest("POST", base+"/api/v1/clients", strings.NewReader(`{"name":"Shop","grant_types":["urn:openid:params:grant-type:ciba"]}`))
	req.Header.Set("Authorization", "Bearer cli-test-token-rWq8pZx3kLm5nB7vC9dF2gH4j")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct{ ClientID, ClientSecret string }
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &struct {
		ID     *string `json:"client_id"`
		Secret *string `json:"client_secret"`
	}{&c.ClientID, &c.ClientSecret})
	if c.ClientID == "" {
		t.Fatalf("create client: %s", b)
	}
	return base, enroll.Admin{Server: base, Token: "cli-test-token-rWq8pZx3kLm5nB7vC9dF2gH4j"}, c.ClientID, c.ClientSecret
}

// cibaAsk sends a backchannel authentication request for user with the
// binding message msg (and the extra form fields) as client id and
// returns its auth_req_id.
func cibaAsk(t *testing.T, base, id, secret, user, msg string, extra url.Values) string {
	t.Helper()
	form := url.Values{"scope": {"openid"}, "login_hint": {user}, "binding_message": {msg}}
	for k, v := range extra {
		form[k] = v
	}
	m := cibaPost(t, base, "/oauth2/bc-authorize", id, secret, form)
	rid, _ := m["auth_req_id"].(string)
	if rid == "" {
		t.Fatalf("bc-authorize: %v", m)
	}
	return rid
}

// cibaPoll is the client's token request for the auth_req_id rid.
func cibaPoll(t *testing.T, base, id, secret, rid string) map[string]any {
	t.Helper()
	return cibaPost(t, base, "/oauth2/token", id, secret, url.Values{"grant_type": {"urn:openid:params:grant-type:ciba"}, "auth_req_id": {rid}})
}

func cibaPost(t *testing.T, base, path, id, secret string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// TestApproveCommands: enroll pairs, `requests --json` lists, `approve`
// and `deny` answer, `requests --wait` wakes up, `pair` pairs an account
// added by URI, and `rm` unpairs on the server.
func TestApproveCommands(t *testing.T) {
	ctx := context.Background()
	base, adm, id, secret := cibaServer(t)
	home := t.TempDir()
	vars := map[string]string{"LATCHKEY_HOME": home, "LATCHKEY_STORE": "file", "LATCHKEY_PASSPHRASE": "correct horse"}
	if os.Getenv("LATCHKEY_TEST_SECRET_SERVICE") != "" {
		// The real keyring: the device keys go there, and each command
		// opens the store in milliseconds rather than a vault's scrypt
		// second, which would swamp the --wait latency logged below.
		// (core/store's tests cover device keys in the vault.)
		vars["LATCHKEY_STORE"] = "keyring"
	}
	runCLI := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		e := &env{getenv: func(k string) string { return vars[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: time.Now}
		code := report(dispatch(ctx, e, args), &errb)
		return out.String(), errb.String(), code
	}
	if _, errOut, code := runCLI("requests"); code != 1 || !strings.Contains(errOut, "no account is paired") {
		t.Errorf("requests with nothing paired: %d %q", code, errOut)
	}
	c, err := adm.Create(ctx, "alice", "CLI")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI("enroll", c.EnrollmentLink)
	if code != 0 || !strings.Contains(out, "paired: it approves sign-ins for "+base) {
		t.Fatalf("enroll: %d %q %q", code, out, errOut)
	}
	ask := func(msg string) string { return cibaAsk(t, base, id, secret, "alice", msg, nil) }
	poll := func(rid string) map[string]any { return cibaPoll(t, base, id, secret, rid) }
	rid := ask("Order 42")
	out, errOut, code = runCLI("requests", "--json")
	var items []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 {
		t.Fatalf("requests --json: %d %q %q", code, out, errOut)
	}
	it := items[0]
	if it["id"] != rid || it["account"] != "Latchkey:alice" || it["client"] != "Shop" || it["binding_message"] != "Order 42" || it["expires_in"].(float64) <= 0 {
		t.Errorf("requests --json item: %v", it)
	}
	if len(it) != 5 {
		t.Errorf("requests --json has fields %v, want id, account, client, binding_message, expires_in", it)
	}
	if out, _, _ := runCLI("requests"); !strings.Contains(out, rid) || !strings.Contains(out, `"Order 42"`) {
		t.Errorf("requests: %q", out)
	}
	out, errOut, code = runCLI("approve", rid[:8])
	if code != 0 || !strings.HasPrefix(out, "approved sign-in to Shop") {
		t.Fatalf("approve: %d %q %q", code, out, errOut)
	}
	if m := poll(rid); m["id_token"] == nil {
		t.Errorf("poll after approve: %v", m)
	}
	rid = ask("Order 43")
	if out, errOut, code := runCLI("deny", rid); code != 0 || !strings.HasPrefix(out, "denied") {
		t.Fatalf("deny: %d %q %q", code, out, errOut)
	}
	if m := poll(rid); m["error"] != "access_denied" {
		t.Errorf("poll after deny: %v", m)
	}
	if _, errOut, code := runCLI("approve", rid); code != 1 || !strings.Contains(errOut, "no pending sign-in request") {
		t.Errorf("approve an answered request: %d %q", code, errOut)
	}

	// requests --wait returns once a request arrives.
	type res struct {
		out string
		at  time.Time
	}
	done := make(chan res, 1)
	go func() {
		out, _, _ := runCLI("requests", "--wait", "--timeout", "20s", "--json")
		done <- res{out, time.Now()}
	}()
	time.Sleep(500 * time.Millisecond)
	start := time.Now()
	rid = ask("waited for")
	r := <-done
	if !strings.Contains(r.out, rid) {
		t.Fatalf("requests --wait: %q", r.out)
	}
	t.Logf("bc-authorize to `latchkey requests --wait` printing it: %v", r.at.Sub(start).Round(time.Millisecond))

	// An account added by URI pairs with a pairing link.
	link := pairingLinkFor(t, base, adm, "bob", runCLI)
	out, errOut, code = runCLI("pair", link)
	if code != 0 || !strings.Contains(out, "paired Latchkey:bob") {
		t.Fatalf("pair: %d %q %q", code, out, errOut)
	}

	// rm revokes the device on the server.
	if out, errOut, code := runCLI("rm", "--yes", "alice"); code != 0 || errOut != "" {
		t.Fatalf("rm: %d %q %q", code, out, errOut)
	}
	m := cibaPost(t, base, "/oauth2/bc-authorize", id, secret, url.Values{"scope": {"openid"}, "login_hint": {"alice"}})
	if m["error"] != "unknown_user_id" {
		t.Errorf("bc-authorize after rm: %v", m)
	}
}

// pairingLinkFor enrolls a credential of user on the test server,
// confirmed with the previous step's code (inside the window) so that
// the current one is left for pairing, adds it to the store with run
// ("add URI"), and returns a pairing link for it from the admin API.
func pairingLinkFor(t *testing.T, base string, adm enroll.Admin, user string, run func(args ...string) (string, string, int)) string {
	t.Helper()
	ctx := context.Background()
	bc, err := adm.Create(ctx, user, "phone")
	if err != nil {
		t.Fatal(err)
	}
	k, _ := otpauth.Parse(bc.OTPAuthURI)
	g, _ := k.Generator()
	if err := adm.Confirm(ctx, user, bc.ID, g.At(time.Now().Add(-30*time.Second))); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := run("add", bc.OTPAuthURI); code != 0 {
		t.Fatalf("add: %q", errOut)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/users/"+user+"/credentials/"+bc.ID+"/pairing-link", nil)
	req.Header.Set("Authorization", "Bearer cli-test-token-rWq8pZx3kLm5nB7vC9dF2gH4j")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var pl struct {
		Link string `json:"pairing_link"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&pl); err != nil || pl.Link == "" {
		t.Fatalf("pairing link: %d %v", resp.StatusCode, err)
	}
	return pl.Link
}
