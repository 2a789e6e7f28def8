package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"latchkey/core/device"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/server/oidc"
)

// testDevice is a paired Latchkey as the server sees it: a key and an id.
type testDevice struct {
	id  string
	key ed25519.PrivateKey
}

func newDeviceKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// signed authenticates a request as the device.
func (d testDevice) signed(ts *testServer, method, path string) auth {
	return func(r *http.Request) {
		h, err := device.SignRequest(d.key, d.id, method, path, ts.clock.Now())
		if err != nil {
			ts.t.Fatal(err)
		}
		r.Header.Set("Authorization", h)
	}
}

func (d testDevice) pending(ts *testServer, base string) []map[string]any {
	ts.t.Helper()
	r := doRequest(ts.t, base, "GET", "/api/v1/device/requests", d.signed(ts, "GET", "/api/v1/device/requests"), "")
	if r.status != 200 {
		ts.t.Fatalf("device requests: %d %s", r.status, r.body)
	}
	var out struct{ Requests []map[string]any }
	json.Unmarshal(r.body, &out)
	return out.Requests
}

func (d testDevice) answer(ts *testServer, base, id, msg, decision, code string) reply {
	ts.t.Helper()
	a, err := device.SignAnswer(d.key, device.Answer{Device: d.id, AuthReqID: id, BindingMessage: msg, Decision: decision,
		IssuedAt: ts.clock.Now().Unix(), Code: code})
	if err != nil {
		ts.t.Fatal(err)
	}
	return d.answerRaw(ts, base, id, a)
}

func (d testDevice) answerRaw(ts *testServer, base, id, signed string) reply {
	path := "/api/v1/device/requests/" + id
	return doRequest(ts.t, base, "POST", path, d.signed(ts, "POST", path), `{"answer":"`+signed+`"}`)
}

// pairByLink enrolls user with an enrollment link and pairs a new device
// key on confirming it, as `latchkey enroll LINK` does.
func (ts *testServer) pairByLink(user string) (testDevice, *otp.Generator) {
	ts.t.Helper()
	r := ts.do("POST", "/api/v1/users/"+user+"/credentials", ts.admin(), "")
	var created struct {
		ID   string `json:"id"`
		Link string `json:"enrollment_link"`
	}
	json.Unmarshal(r.body, &created)
	tok := created.Link[strings.Index(created.Link, "#")+1:]
	r = ts.do("POST", "/api/v1/enroll", noAuth, `{"token":"`+tok+`"}`)
	if r.status != 200 {
		ts.t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	k, err := otpauth.Parse(r.json(ts.t)["otpauth_uri"].(string))
	if err != nil {
		ts.t.Fatal(err)
	}
	gen, err := k.Generator()
	if err != nil {
		ts.t.Fatal(err)
	}
	pub, priv := newDeviceKey(ts.t)
	r = ts.do("POST", "/api/v1/enroll/confirm", noAuth, `{"token":"`+tok+`","code":"`+gen.At(ts.clock.Now())+`","public_key":"`+b64url(pub)+`"}`)
	if r.status != 200 {
		ts.t.Fatalf("confirm with key: %d %s", r.status, r.body)
	}
	m := r.json(ts.t)
	if m["verified"] != true || m["user"] != user || m["credential_id"] != created.ID {
		ts.t.Fatalf("confirm answer %s", r.body)
	}
	ts.clock.Add(30 * time.Second)
	return testDevice{id: m["device_id"].(string), key: priv}, gen
}

// cibaClient registers a client with the CIBA grant and a secret.
func (ts *testServer) cibaClient() (id, secret string) {
	cr := ts.createClient(`{"name":"shop","grant_types":["` + oidc.GrantCIBA + `"]}`)
	return cr["client_id"].(string), cr["client_secret"].(string)
}

func postCIBAForm(t *testing.T, base, path, id, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %d %q", path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func (ts *testServer) bcAuthorize(base, id, secret string, form url.Values) (int, map[string]any) {
	return postCIBAForm(ts.t, base, "/oauth2/bc-authorize", id, secret, form)
}

func (ts *testServer) pollCIBA(base, id, secret, reqID string) (int, map[string]any) {
	return postCIBAForm(ts.t, base, "/oauth2/token", id, secret, url.Values{"grant_type": {oidc.GrantCIBA}, "auth_req_id": {reqID}})
}

func TestCIBA(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testCIBA(t, b.open(t)) })
	}
}

func testCIBA(t *testing.T, st Store) {
	ts := newOIDCServer(t, st)
	id, secret := ts.cibaClient()

	// Discovery names the backchannel endpoint and the grant.
	r := ts.do("GET", "/.well-known/openid-configuration", noAuth, "")
	md := r.json(t)
	if md["backchannel_authentication_endpoint"] != ts.url+"/oauth2/bc-authorize" ||
		md["backchannel_user_code_parameter_supported"] != false ||
		!slices.Contains(toStrings(md["backchannel_token_delivery_modes_supported"]), "poll") ||
		!slices.Contains(toStrings(md["grant_types_supported"]), oidc.GrantCIBA) {
		t.Fatalf("discovery: %s", r.body)
	}

	dev, gen := ts.pairByLink("alice")
	ask := func(msg string) string {
		t.Helper()
		code, m := ts.bcAuthorize(ts.url, id, secret, url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "binding_message": {msg}})
		if code != 200 || m["expires_in"] != float64(120) || m["interval"] != float64(5) {
			t.Fatalf("bc-authorize: %d %v", code, m)
		}
		return m["auth_req_id"].(string)
	}

	// Refusals at bc-authorize.
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"scope": {"profile"}, "login_hint": {"alice"}}, "invalid_scope"},
		{url.Values{"scope": {"openid"}}, "invalid_request"},
		{url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "id_token_hint": {"x"}}, "invalid_request"},
		{url.Values{"scope": {"openid"}, "login_hint_token": {"x"}}, "invalid_request"},
		{url.Values{"scope": {"openid"}, "login_hint": {"bob"}}, "unknown_user_id"},
		{url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "binding_message": {strings.Repeat("x", 65)}}, "invalid_binding_message"},
		{url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "binding_message": {"a\x1b[2Jb"}}, "invalid_binding_message"},
		{url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "requested_expiry": {"-1"}}, "invalid_request"},
	} {
		if code, m := ts.bcAuthorize(ts.url, id, secret, c.form); code != 400 || m["error"] != c.want {
			t.Errorf("%v: %d %v, want %s", c.form, code, m, c.want)
		}
	}
	if code, m := ts.bcAuthorize(ts.url, id, "wrong", url.Values{"scope": {"openid"}, "login_hint": {"alice"}}); code != 401 || m["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v", code, m)
	}
	cc := ts.createClient(`{"name":"other","grant_types":["client_credentials"]}`)
	if code, m := ts.bcAuthorize(ts.url, cc["client_id"].(string), cc["client_secret"].(string), url.Values{"scope": {"openid"}, "login_hint": {"alice"}}); code != 400 || m["error"] != "unauthorized_client" {
		t.Errorf("client without the grant: %d %v", code, m)
	}

	// Approve: pending, slow_down, the device sees it, answers, tokens once.
	req := ask("Order 42")
	if code, m := ts.pollCIBA(ts.url, id, secret, req); code != 400 || m["error"] != "authorization_pending" {
		t.Fatalf("first poll: %d %v", code, m)
	}
	if _, m := ts.pollCIBA(ts.url, id, secret, req); m["error"] != "slow_down" {
		t.Fatalf("early poll: %v", m)
	}
	ts.clock.Add(6 * time.Second)
	if _, m := ts.pollCIBA(ts.url, id, secret, req); m["error"] != "slow_down" {
		t.Fatalf("poll after 6 s with the interval grown to 10 s: %v", m)
	}
	ts.clock.Add(15 * time.Second)
	if _, m := ts.pollCIBA(ts.url, id, secret, req); m["error"] != "authorization_pending" {
		t.Fatalf("poll after 15 s: %v", m)
	}
	if code, m := ts.pollCIBA(ts.url, cc["client_id"].(string), cc["client_secret"].(string), req); code != 400 || m["error"] != "unauthorized_client" {
		t.Errorf("other client's poll: %d %v", code, m)
	}
	ps := dev.pending(ts, ts.url)
	if len(ps) != 1 || ps[0]["id"] != req || ps[0]["binding_message"] != "Order 42" || ps[0]["client_name"] != "shop" {
		t.Fatalf("pending: %v", ps)
	}
	// A signed device request works once, and only for its method and path.
	h, _ := device.SignRequest(dev.key, dev.id, "GET", "/api/v1/device/requests", ts.clock.Now())
	setH := func(r *http.Request) { r.Header.Set("Authorization", h) }
	if r := ts.do("GET", "/api/v1/device/requests", setH, ""); r.status != 200 {
		t.Fatalf("signed request: %d %s", r.status, r.body)
	}
	if r := ts.do("GET", "/api/v1/device/requests", setH, ""); r.status != 401 {
		t.Errorf("replayed device request: %d %s", r.status, r.body)
	}
	if r := ts.do("DELETE", "/api/v1/device", dev.signed(ts, "GET", "/api/v1/device/requests"), ""); r.status != 401 {
		t.Errorf("request signed for another method and path: %d %s", r.status, r.body)
	}
	// Forged answers: another user's device, a changed binding message.
	eve, _ := ts.pairByLink("eve")
	ts.clock.Add(-30 * time.Second) // pairing moved the clock; keep the request's timing
	if r := eve.answer(ts, ts.url, req, "Order 42", device.Approve, ""); r.status != 409 {
		t.Errorf("another user's device answered: %d %s", r.status, r.body)
	}
	// eve signs an answer but alice's device sends it.
	forged, _ := device.SignAnswer(eve.key, device.Answer{Device: dev.id, AuthReqID: req, BindingMessage: "Order 42", Decision: device.Approve, IssuedAt: ts.clock.Now().Unix()})
	if r := dev.answerRaw(ts, ts.url, req, forged); r.status != 409 {
		t.Errorf("answer signed by another key: %d %s", r.status, r.body)
	}
	if r := dev.answer(ts, ts.url, req, "Order 43", device.Approve, ""); r.status != 409 {
		t.Errorf("changed binding message: %d %s", r.status, r.body)
	}
	signedAnswer, _ := device.SignAnswer(dev.key, device.Answer{Device: dev.id, AuthReqID: req, BindingMessage: "Order 42", Decision: device.Approve, IssuedAt: ts.clock.Now().Unix()})
	if r := dev.answerRaw(ts, ts.url, req, signedAnswer); r.status != 200 || r.json(t)["status"] != "approved" {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	approvedAt := ts.clock.Now()
	if r := dev.answerRaw(ts, ts.url, req, signedAnswer); r.status != 409 {
		t.Errorf("replayed answer: %d %s", r.status, r.body)
	}
	if len(dev.pending(ts, ts.url)) != 0 {
		t.Error("an answered request is still pending")
	}
	ts.clock.Add(time.Second) // sooner than the interval: a terminal answer is not held back
	code, m := ts.pollCIBA(ts.url, id, secret, req)
	if code != 200 || m["id_token"] == nil || m["access_token"] == nil || m["token_type"] != "Bearer" {
		t.Fatalf("poll after approval: %d %v", code, m)
	}
	idToken := m["id_token"].(string)
	p, err := gooidc.NewProvider(ts.ctx(), ts.url)
	if err != nil {
		t.Fatal(err)
	}
	idt, err := p.Verifier(&gooidc.Config{ClientID: id, Now: ts.clock.Now}).Verify(ts.ctx(), m["id_token"].(string))
	if err != nil {
		t.Fatalf("go-oidc refuses the id_token: %v", err)
	}
	var claims struct {
		AZP      string   `json:"azp"`
		AuthTime int64    `json:"auth_time"`
		AMR      []string `json:"amr"`
	}
	idt.Claims(&claims)
	if idt.Subject != "alice" || claims.AZP != id || claims.AuthTime != approvedAt.Unix() || !slices.Equal(claims.AMR, []string{"swk"}) {
		t.Errorf("id_token: sub %q %+v", idt.Subject, claims)
	}
	if _, m := ts.pollCIBA(ts.url, id, secret, req); m["error"] != "invalid_grant" {
		t.Errorf("second poll after tokens: %v", m)
	}
	if _, m := ts.pollCIBA(ts.url, id, secret, "nope"); m["error"] != "invalid_grant" {
		t.Errorf("unknown id: %v", m)
	}

	// id_token_hint names the user.
	code, m = ts.bcAuthorize(ts.url, id, secret, url.Values{"scope": {"openid"}, "id_token_hint": {idToken}})
	if code != 200 {
		t.Fatalf("id_token_hint: %d %v", code, m)
	}
	hinted := m["auth_req_id"].(string)
	if code, m := ts.bcAuthorize(ts.url, id, secret, url.Values{"scope": {"openid"}, "id_token_hint": {idToken[:len(idToken)-4] + "AAAA"}}); code != 400 {
		t.Errorf("forged id_token_hint: %d %v", code, m)
	}

	// Deny.
	if r := dev.answer(ts, ts.url, hinted, "", device.Deny, ""); r.status != 200 || r.json(t)["status"] != "denied" {
		t.Fatalf("deny: %d %s", r.status, r.body)
	}
	if _, m := ts.pollCIBA(ts.url, id, secret, hinted); m["error"] != "access_denied" {
		t.Errorf("after denial: %v", m)
	}

	// Expiry, capped by configuration.
	code, m = ts.bcAuthorize(ts.url, id, secret, url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "requested_expiry": {"30"}})
	if code != 200 || m["expires_in"] != float64(30) {
		t.Fatalf("requested_expiry: %d %v", code, m)
	}
	late := m["auth_req_id"].(string)
	ts.clock.Add(31 * time.Second)
	if _, m := ts.pollCIBA(ts.url, id, secret, late); m["error"] != "expired_token" {
		t.Errorf("after expiry: %v", m)
	}
	if r := dev.answer(ts, ts.url, late, "", device.Approve, ""); r.status != 409 && r.status != 410 {
		t.Errorf("answer after expiry: %d %s", r.status, r.body)
	}
	if _, m := ts.bcAuthorize(ts.url, id, secret, url.Values{"scope": {"openid"}, "login_hint": {"alice"}, "requested_expiry": {"99999"}}); m["expires_in"] != float64(600) {
		t.Errorf("requested_expiry over the cap: %v", m)
	}

	// ciba_require_otp: the approval carries the current code.
	if r := ts.do("PUT", "/api/v1/clients/"+id+"/ciba", ts.admin(), `{"ciba_require_otp":true}`); r.status != 200 {
		t.Fatalf("set ciba_require_otp: %d %s", r.status, r.body)
	}
	ts.clock.Add(30 * time.Second)
	req = ask("with code")
	if ps := dev.pending(ts, ts.url); len(ps) != 2 || ps[1]["require_otp"] != true {
		t.Fatalf("pending with code: %v", ps)
	}
	if r := dev.answer(ts, ts.url, req, "with code", device.Approve, ""); r.status != 400 || r.json(t)["error"] != "code_required" {
		t.Errorf("approval without the code: %d %s", r.status, r.body)
	}
	if r := dev.answer(ts, ts.url, req, "with code", device.Approve, "000000"); r.status != 400 || r.json(t)["error"] != "invalid_code" {
		t.Errorf("approval with a wrong code: %d %s", r.status, r.body)
	}
	good := gen.At(ts.clock.Now())
	if r := dev.answer(ts, ts.url, req, "with code", device.Approve, good); r.status != 200 {
		t.Fatalf("approval with the code: %d %s", r.status, r.body)
	}
	ts.clock.Add(10 * time.Second)
	_, m = ts.pollCIBA(ts.url, id, secret, req)
	idt, err = p.Verifier(&gooidc.Config{ClientID: id, Now: ts.clock.Now}).Verify(ts.ctx(), m2s(m, "id_token", m))
	if err != nil {
		t.Fatal(err)
	}
	idt.Claims(&claims)
	if !slices.Equal(claims.AMR, []string{"swk", "otp"}) {
		t.Errorf("amr with a code: %v", claims.AMR)
	}

	// The helpdesk revokes the device: it can no longer ask.
	if r := ts.do("DELETE", "/api/v1/users/alice/devices/"+dev.id, ts.admin(), ""); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := ts.do("GET", "/api/v1/device/requests", dev.signed(ts, "GET", "/api/v1/device/requests"), ""); r.status != 401 {
		t.Errorf("revoked device: %d", r.status)
	}
	if _, m := ts.bcAuthorize(ts.url, id, secret, url.Values{"scope": {"openid"}, "login_hint": {"alice"}}); m["error"] != "unknown_user_id" {
		t.Errorf("user without device: %v", m)
	}

	// The steps are counted for Prometheus.
	metrics := string(ts.do("GET", "/metrics", noAuth, "").body)
	for _, ev := range []string{"requested", "refused", "approved", "denied", "answer_refused", "token_issued", "paired", "unpaired"} {
		if !regexp.MustCompile(`(?m)^latchkey_ciba_total\{event="` + ev + `"\} [1-9]`).MatchString(metrics) {
			t.Errorf("metrics lack CIBA event %s", ev)
		}
	}

	// Every step is in the audit log.
	ts.Close()
	evs, err := st.AuditLog(context.Background(), "alice", 200)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ev := range evs {
		seen[ev.Action+" "+ev.Outcome] = true
	}
	for _, want := range []string{"device_pair " + dev.id, "ciba_authorize pending", "ciba_answer approved", "ciba_answer denied",
		"ciba_answer binding_message_mismatch", "ciba_answer already_answered", "ciba_answer code_required", "ciba_answer invalid_code",
		"ciba_token issued", "device_revoke " + dev.id} {
		if !seen[want] {
			t.Errorf("audit log lacks %q", want)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func m2s(m map[string]any, k string, all any) string {
	s, _ := m[k].(string)
	return s
}

// TestCIBATwoInstances pairs a credential enrolled by QR with a pairing
// link, then runs a sign-in whose client talks to one instance and whose
// device talks to the other, on one PostgreSQL database.
func TestCIBATwoInstances(t *testing.T) {
	dsn := newPostgresDB(t)
	open := func() Store {
		st, err := OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := newOIDCServer(t, open())
	b := newOIDCServer(t, open(), func(c *Config) { c.Now = a.clock.Now })
	e := a.enrollVerified("carol")
	id, secret := a.cibaClient()

	// The helpdesk issues a pairing link; the device pairs on the other instance.
	r := a.do("POST", "/api/v1/users/carol/credentials/"+e.ID+"/pairing-link", a.admin(), "")
	if r.status != 201 {
		t.Fatalf("pairing link: %d %s", r.status, r.body)
	}
	link := r.json(t)["pairing_link"].(string)
	if !strings.HasPrefix(link, a.url+"/pair#") {
		t.Fatalf("pairing link %q", link)
	}
	tok := link[strings.Index(link, "#")+1:]
	if r := b.do("POST", "/api/v1/pair/info", noAuth, `{"token":"`+tok+`"}`); r.status != 200 || r.json(t)["credential_id"] != e.ID {
		t.Fatalf("pair info: %d %s", r.status, r.body)
	}
	pub, priv := newDeviceKey(t)
	body := func(code string) string {
		return `{"token":"` + tok + `","code":"` + code + `","public_key":"` + b64url(pub) + `"}`
	}
	if r := b.do("POST", "/api/v1/pair", noAuth, body("000000")); r.status != 400 {
		t.Errorf("pair with a wrong code: %d %s", r.status, r.body)
	}
	code := e.gen.At(a.clock.Now())
	r = b.do("POST", "/api/v1/pair", noAuth, body(code))
	if r.status != 200 {
		t.Fatalf("pair: %d %s", r.status, r.body)
	}
	dev := testDevice{id: r.json(t)["device_id"].(string), key: priv}
	if r := a.do("POST", "/api/v1/pair", noAuth, body(code)); r.status != 404 {
		t.Errorf("pairing link used twice: %d %s", r.status, r.body)
	}
	if r := a.do("GET", "/api/v1/users/carol/devices", a.admin(), ""); r.status != 200 || !strings.Contains(string(r.body), dev.id) {
		t.Errorf("devices: %d %s", r.status, r.body)
	}

	// The device long-polls b; the client asks a.
	type seen struct {
		ps  []map[string]any
		at  time.Time
		err string
	}
	got := make(chan seen, 1)
	go func() {
		path := "/api/v1/device/requests"
		req, _ := http.NewRequest("GET", b.url+path+"?wait=5", nil)
		dev.signed(b, "GET", path)(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- seen{err: err.Error()}
			return
		}
		defer resp.Body.Close()
		var out struct{ Requests []map[string]any }
		json.NewDecoder(resp.Body).Decode(&out)
		got <- seen{ps: out.Requests, at: time.Now()}
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	c, m := a.bcAuthorize(a.url, id, secret, url.Values{"scope": {"openid"}, "login_hint": {"carol"}, "binding_message": {"two instances"}})
	if c != 200 {
		t.Fatalf("bc-authorize: %d %v", c, m)
	}
	s := <-got
	if s.err != "" || len(s.ps) != 1 || s.ps[0]["id"] != m["auth_req_id"] {
		t.Fatalf("long poll on the other instance: %+v", s)
	}
	t.Logf("bc-authorize on one instance to the device's long poll on another: %v", s.at.Sub(start).Round(time.Millisecond))
	if s.at.Sub(start) > 2*time.Second {
		t.Errorf("the request took %v to reach the device", s.at.Sub(start))
	}
	reqID := m["auth_req_id"].(string)
	if r := dev.answer(b, b.url, reqID, "two instances", device.Approve, ""); r.status != 200 {
		t.Fatalf("answer on b: %d %s", r.status, r.body)
	}
	if c, m := a.pollCIBA(a.url, id, secret, reqID); c != 200 || m["id_token"] == nil {
		t.Fatalf("poll on a after the answer on b: %d %v", c, m)
	}
	if _, m := b.pollCIBA(b.url, id, secret, reqID); m["error"] != "invalid_grant" {
		t.Errorf("second poll on b: %v", m)
	}
	// Deleting the credential unpairs its device.
	if r := a.do("DELETE", "/api/v1/users/carol/credentials/"+e.ID, a.admin(), ""); r.status != 204 {
		t.Fatalf("delete credential: %d", r.status)
	}
	if r := b.do("GET", "/api/v1/device/requests", dev.signed(b, "GET", "/api/v1/device/requests"), ""); r.status != 401 {
		t.Errorf("device of a deleted credential: %d", r.status)
	}
}
