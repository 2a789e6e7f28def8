package server

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"latchkey/server/oidc"
)

// newOIDCServer is newTestServer with the issuer set to the test URL
// (the public URL), as `latchkey serve --public-url` would.
func newOIDCServer(t *testing.T, st Store, mods ...func(*Config)) *testServer {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	issuer := "http://" + hs.Listener.Addr().String()
	ts := newTestServer(t, st, append([]func(*Config){func(c *Config) { c.PublicURL = issuer }}, mods...)...)
	hs.Config.Handler = ts.Server
	hs.Start()
	t.Cleanup(hs.Close)
	ts.url = issuer
	return ts
}

func (ts *testServer) ctx() context.Context {
	return gooidc.ClientContext(context.Background(), http.DefaultClient)
}

// createClient registers a client through the admin API.
func (ts *testServer) createClient(body string) map[string]any {
	ts.t.Helper()
	r := ts.do("POST", "/api/v1/clients", ts.admin(), body)
	if r.status != 201 {
		ts.t.Fatalf("create client %s: %d %s", body, r.status, r.body)
	}
	return r.json(ts.t)
}

// verifier is go-oidc's verifier for access tokens of the API.
func (ts *testServer) verifier(t *testing.T) *gooidc.IDTokenVerifier {
	p, err := gooidc.NewProvider(ts.ctx(), ts.url)
	if err != nil {
		t.Fatal(err)
	}
	return p.Verifier(&gooidc.Config{ClientID: ts.url + "/api", Now: ts.clock.Now, SupportedSigningAlgs: []string{"RS256", "ES256"}})
}

func TestOIDCDiscovery(t *testing.T) {
	ts := newOIDCServer(t, openTestSQLite(t))
	p, err := gooidc.NewProvider(ts.ctx(), ts.url)
	if err != nil {
		t.Fatal(err)
	}
	if p.Endpoint().TokenURL != ts.url+"/oauth2/token" {
		t.Errorf("token endpoint %q", p.Endpoint().TokenURL)
	}
	var md map[string]any
	if err := p.Claims(&md); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"issuer", "token_endpoint", "jwks_uri", "grant_types_supported", "token_endpoint_auth_methods_supported",
		"token_endpoint_auth_signing_alg_values_supported", "id_token_signing_alg_values_supported", "subject_types_supported",
		"response_types_supported", "scopes_supported", "claims_supported"} {
		if _, ok := md[k]; !ok {
			t.Errorf("discovery lacks %s", k)
		}
	}
	if _, ok := md["authorization_endpoint"]; ok {
		t.Error("discovery names an authorization endpoint; this provider has no front channel")
	}
	if md["jwks_uri"] != ts.url+"/.well-known/jwks.json" {
		t.Errorf("jwks_uri %v", md["jwks_uri"])
	}
	// The JWKS: public members only, kid = RFC 7638 thumbprint, use, alg.
	r := ts.do("GET", "/.well-known/jwks.json", noAuth, "")
	var raw struct{ Keys []map[string]any }
	if err := json.Unmarshal(r.body, &raw); err != nil || len(raw.Keys) != 1 {
		t.Fatalf("jwks %s: %v", r.body, err)
	}
	for _, priv := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
		if _, ok := raw.Keys[0][priv]; ok {
			t.Errorf("JWKS holds private member %q", priv)
		}
	}
	if raw.Keys[0]["use"] != "sig" || raw.Keys[0]["alg"] != "RS256" {
		t.Errorf("key use/alg: %v", raw.Keys[0])
	}
	var set jose.JSONWebKeySet
	json.Unmarshal(r.body, &set)
	tp, _ := set.Keys[0].Thumbprint(crypto.SHA256)
	if set.Keys[0].KeyID != base64.RawURLEncoding.EncodeToString(tp) {
		t.Error("kid is not the RFC 7638 thumbprint")
	}
	// The issuer never comes from the Host header.
	req, _ := http.NewRequest("GET", ts.url+"/.well-known/openid-configuration", nil)
	req.Host = "evil.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var md2 oidc.Metadata
	json.NewDecoder(resp.Body).Decode(&md2)
	resp.Body.Close()
	if md2.Issuer != ts.url {
		t.Errorf("issuer %q with another Host", md2.Issuer)
	}
}

func TestOIDCNoIssuer(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t)) // no public URL, not listening through Run
	for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json"} {
		if r := ts.do("GET", p, noAuth, ""); r.status != 404 {
			t.Errorf("%s without an issuer: %d", p, r.status)
		}
	}
	for _, c := range []struct{ scheme, addr, want string }{
		{"http", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"https", "[::1]:8443", "https://[::1]:8443"},
		{"http", "0.0.0.0:8080", ""},
		{"http", "[::]:8080", ""},
		{"http", ":8080", ""},
	} {
		got, err := listenIssuer(c.scheme, c.addr)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("listenIssuer(%s, %s) = %q, %v", c.scheme, c.addr, got, err)
		}
	}
}

// TestClientCredentialsSecret gets tokens with x/oauth2's clientcredentials
// with both secret methods, verifies them with go-oidc and uses them on
// /api/v1/verify.
func TestClientCredentialsSecret(t *testing.T) {
	ts := newOIDCServer(t, openTestSQLite(t))
	cr := ts.createClient(`{"name":"shop","grant_types":["client_credentials"]}`)
	id, secret := cr["client_id"].(string), cr["client_secret"].(string)
	if cr["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Errorf("default auth method %v", cr["token_endpoint_auth_method"])
	}
	v := ts.verifier(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: ts.url + "/oauth2/token", AuthStyle: style}
		tok, err := cc.Token(ts.ctx())
		if err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
		idt, err := v.Verify(ts.ctx(), tok.AccessToken)
		if err != nil {
			t.Fatalf("go-oidc refuses the access token: %v", err)
		}
		if idt.Subject != id || idt.Issuer != ts.url {
			t.Errorf("sub %q iss %q", idt.Subject, idt.Issuer)
		}
		r := ts.do("POST", "/api/v1/verify", bearer(tok.AccessToken), `{"user":"nobody","code":"123456"}`)
		if r.status != 200 || r.json(t)["reason"] != OutcomeNoCredential {
			t.Errorf("verify with the access token: %d %s", r.status, r.body)
		}
	}
	// A wrong secret: 401 with WWW-Authenticate and no-store.
	cc := clientcredentials.Config{ClientID: id, ClientSecret: "wrong", TokenURL: ts.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
	if _, err := cc.Token(ts.ctx()); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: %v", err)
	}
	// A client created with only a name: Basic at /api/v1/verify, and no grant.
	old := ts.createClient(`{"name":"legacy"}`)
	lid, lsecret := old["client_id"].(string), old["client_secret"].(string)
	if r := ts.do("POST", "/api/v1/verify", basic(lid, lsecret), `{"user":"u","code":"123456"}`); r.status != 200 {
		t.Errorf("legacy client at verify: %d %s", r.status, r.body)
	}
	cc = clientcredentials.Config{ClientID: lid, ClientSecret: lsecret, TokenURL: ts.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader}
	if _, err := cc.Token(ts.ctx()); err == nil || !strings.Contains(err.Error(), "unauthorized_client") {
		t.Errorf("client without the grant: %v", err)
	}
}

func postForm(t *testing.T, ts *testServer, form url.Values, a auth) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.url+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: []byte(b.String())}
}

func TestTokenEndpointErrors(t *testing.T) {
	ts := newOIDCServer(t, openTestSQLite(t))
	cr := ts.createClient(`{"name":"shop","grant_types":["client_credentials"]}`)
	id, secret := cr["client_id"].(string), cr["client_secret"].(string)
	cases := []struct {
		name   string
		body   string
		ct     string
		a      auth
		status int
		code   string
	}{
		{"json body", `{"grant_type":"client_credentials"}`, "application/json", basic(id, secret), 400, "invalid_request"},
		{"repeated parameter", "grant_type=client_credentials&grant_type=client_credentials", "", basic(id, secret), 400, "invalid_request"},
		{"no client auth", "grant_type=client_credentials", "", noAuth, 401, "invalid_client"},
		{"two methods", "grant_type=client_credentials&client_id=" + id + "&client_secret=" + secret, "", basic(id, secret), 400, "invalid_request"},
		{"unknown grant", "grant_type=password", "", basic(id, secret), 400, "unsupported_grant_type"},
		{"no grant", "", "", basic(id, secret), 400, "invalid_request"},
		{"scope", "grant_type=client_credentials&scope=admin", "", basic(id, secret), 400, "invalid_scope"},
		{"unknown client", "grant_type=client_credentials", "", basic("lk_none", secret), 401, "invalid_client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.url+"/oauth2/token", strings.NewReader(c.body))
			req.Header.Set("Content-Type", cmpOr(c.ct, "application/x-www-form-urlencoded"))
			c.a(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e map[string]string
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != c.status || e["error"] != c.code {
				t.Errorf("%d %v, want %d %s", resp.StatusCode, e, c.status, c.code)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
			if c.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// assertion signs client-assertion claims with key (go-jose).
func assertion(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims any) string {
	t.Helper()
	k := key
	if kid != "" {
		k = jose.JSONWebKey{Key: key, KeyID: kid}
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type keyPair struct {
	priv any
	jwk  jose.JSONWebKey
	alg  jose.SignatureAlgorithm
}

func newKeyPair(t testing.TB, alg jose.SignatureAlgorithm, kid string) keyPair {
	var priv crypto.Signer
	var err error
	if alg == jose.ES256 {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{priv: priv, jwk: jose.JSONWebKey{Key: priv.Public(), KeyID: kid, Use: "sig", Algorithm: string(alg)}, alg: alg}
}

// TestPrivateKeyJWT authenticates with assertions signed by go-jose
// (RS256, PS256 and ES256 keys in the client's jwks, one through
// jwks_uri), through x/oauth2's clientcredentials, and refuses each
// malformed assertion.
func TestPrivateKeyJWT(t *testing.T) {
	ts := newOIDCServer(t, openTestSQLite(t))
	rsaKey, ecKey, other := newKeyPair(t, jose.RS256, "r1"), newKeyPair(t, jose.ES256, "e1"), newKeyPair(t, jose.RS256, "r1")
	psKey := newKeyPair(t, jose.PS256, "p1")
	psKey.jwk.Algorithm = "" // a key without alg may sign with any RSA algorithm
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{rsaKey.jwk, ecKey.jwk, psKey.jwk}})
	cr := ts.createClient(`{"name":"signer","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":` + string(jwks) + `}`)
	id := cr["client_id"].(string)
	if _, ok := cr["client_secret"]; ok {
		t.Error("a private_key_jwt client got a secret")
	}
	now := ts.clock.Now()
	claims := func(mod func(*jwt.Claims)) jwt.Claims {
		c := jwt.Claims{Issuer: id, Subject: id, Audience: jwt.Audience{ts.url + "/oauth2/token"},
			Expiry: jwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(now), ID: randomID(8)}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	tokenWith := func(a string) reply {
		return postForm(t, ts, url.Values{"grant_type": {"client_credentials"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}, noAuth)
	}
	v := ts.verifier(t)
	for _, k := range []struct {
		kp  keyPair
		alg jose.SignatureAlgorithm
	}{{rsaKey, jose.RS256}, {ecKey, jose.ES256}} {
		a := assertion(t, k.alg, k.kp.priv, k.kp.jwk.KeyID, claims(nil))
		cc := clientcredentials.Config{ClientID: id, TokenURL: ts.url + "/oauth2/token", AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}}
		tok, err := cc.Token(ts.ctx())
		if err != nil {
			t.Fatalf("%s: %v", k.alg, err)
		}
		if _, err := v.Verify(ts.ctx(), tok.AccessToken); err != nil {
			t.Errorf("%s: go-oidc: %v", k.alg, err)
		}
		// The same assertion again: its jti is spent.
		if r := tokenWith(a); r.status != 401 {
			t.Errorf("%s: replayed assertion: %d %s", k.alg, r.status, r.body)
		}
		if r := ts.do("POST", "/api/v1/verify", bearer(tok.AccessToken), `{"user":"u","code":"123456"}`); r.status != 200 {
			t.Errorf("verify with a private_key_jwt token: %d %s", r.status, r.body)
		}
	}
	// aud = the issuer is allowed too; PS256; no kid (every key is tried).
	if r := tokenWith(assertion(t, jose.PS256, psKey.priv, "", claims(func(c *jwt.Claims) { c.Audience = jwt.Audience{ts.url} }))); r.status != 200 {
		t.Errorf("aud = issuer, PS256, no kid: %d %s", r.status, r.body)
	}
	hs := func() string {
		sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
		s, _ := jwt.Signed(sig).Claims(claims(nil)).Serialize()
		return s
	}
	none := func() string {
		b, _ := json.Marshal(claims(nil))
		return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString(b) + "."
	}
	bad := map[string]string{
		"none":                  none(),
		"HS256":                 hs(),
		"another key":           assertion(t, jose.RS256, other.priv, "r1", claims(nil)),
		"wrong aud":             assertion(t, jose.RS256, rsaKey.priv, "r1", claims(func(c *jwt.Claims) { c.Audience = jwt.Audience{"https://other"} })),
		"iss != sub":            assertion(t, jose.RS256, rsaKey.priv, "r1", claims(func(c *jwt.Claims) { c.Subject = "someone" })),
		"other client":          assertion(t, jose.RS256, rsaKey.priv, "r1", claims(func(c *jwt.Claims) { c.Issuer, c.Subject = "lk_x", "lk_x" })),
		"expired":               assertion(t, jose.RS256, rsaKey.priv, "r1", claims(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Second)) })),
		"exp too far":           assertion(t, jose.RS256, rsaKey.priv, "r1", claims(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(time.Hour)) })),
		"no exp":                assertion(t, jose.RS256, rsaKey.priv, "r1", claims(func(c *jwt.Claims) { c.Expiry = nil })),
		"no jti":                assertion(t, jose.RS256, rsaKey.priv, "r1", claims(func(c *jwt.Claims) { c.ID = "" })),
		"wrong alg for key":     assertion(t, jose.ES256, ecKey.priv, "r1", claims(nil)),
		"PS256 by an RS256 key": assertion(t, jose.PS256, rsaKey.priv, "r1", claims(nil)),
		"garbage":               "not.a.jwt",
	}
	for name, a := range bad {
		if r := tokenWith(a); r.status != 401 || r.json(t)["error"] != "invalid_client" {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	// The secret methods do not work for a private_key_jwt client.
	if r := postForm(t, ts, url.Values{"grant_type": {"client_credentials"}}, basic(id, "")); r.status != 401 {
		t.Errorf("secret auth of a private_key_jwt client: %d", r.status)
	}
}

func TestPrivateKeyJWTURI(t *testing.T) {
	ts := newOIDCServer(t, openTestSQLite(t))
	kp := newKeyPair(t, jose.ES256, "u1")
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{kp.jwk}})
	keys := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(jwks) }))
	defer keys.Close()
	for _, body := range []string{
		`{"name":"x","token_endpoint_auth_method":"private_key_jwt","jwks_uri":"http://example.com/jwks"}`,
		`{"name":"x","token_endpoint_auth_method":"private_key_jwt"}`,
		`{"name":"x","token_endpoint_auth_method":"private_key_jwt","jwks":{"keys":[{"kty":"oct","k":"AAAA"}]}}`,
		`{"name":"x","grant_types":["password"]}`,
		`{"name":"x","token_endpoint_auth_method":"tls_client_auth"}`,
	} {
		if r := ts.do("POST", "/api/v1/clients", ts.admin(), body); r.status != 400 || r.json(t)["error"] != "invalid_client_metadata" {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
	cr := ts.createClient(`{"name":"uri","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"` + keys.URL + `"}`)
	id := cr["client_id"].(string)
	now := ts.clock.Now()
	a := assertion(t, jose.ES256, kp.priv, "u1", jwt.Claims{Issuer: id, Subject: id, Audience: jwt.Audience{ts.url + "/oauth2/token"},
		Expiry: jwt.NewNumericDate(now.Add(time.Minute)), ID: "j1"})
	r := postForm(t, ts, url.Values{"grant_type": {"client_credentials"}, "client_id": {id},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}, noAuth)
	if r.status != 200 {
		t.Errorf("jwks_uri client: %d %s", r.status, r.body)
	}
}

// TestBearerRefused: only the client's own, unexpired token signed by
// this provider passes /api/v1/verify.
func TestBearerRefused(t *testing.T) {
	ts := newOIDCServer(t, openTestSQLite(t))
	cr := ts.createClient(`{"name":"shop","grant_types":["client_credentials"]}`)
	id, secret := cr["client_id"].(string), cr["client_secret"].(string)
	good := postForm(t, ts, url.Values{"grant_type": {"client_credentials"}}, basic(id, secret)).json(t)["access_token"].(string)
	ctx := context.Background()
	user, _, err := ts.oidc.MintAccessToken(ctx, "alice", id, "")
	if err != nil {
		t.Fatal(err)
	}
	idTok, _ := ts.oidc.MintIDToken(ctx, oidc.IDToken{Subject: id, Audience: id, AuthTime: ts.clock.Now(), AMR: []string{"otp"}})
	// Forged: same claims and kid, another key.
	kp := newKeyPair(t, jose.RS256, "")
	var set jose.JSONWebKeySet
	json.Unmarshal(ts.do("GET", "/.well-known/jwks.json", noAuth, "").body, &set)
	sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: kp.priv, KeyID: set.Keys[0].KeyID}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	forged, _ := jwt.Signed(sig).Claims(oidc.AccessClaims{Claims: jwt.Claims{Issuer: ts.url, Subject: id, Audience: jwt.Audience{ts.url + "/api"},
		Expiry: jwt.NewNumericDate(ts.clock.Now().Add(time.Minute))}, ClientID: id}).Serialize()
	call := func(tok string) int {
		return ts.do("POST", "/api/v1/verify", bearer(tok), `{"user":"u","code":"123456"}`).status
	}
	if s := call(good); s != 200 {
		t.Fatalf("good token: %d", s)
	}
	for name, tok := range map[string]string{"user token": user, "id_token": idTok, "forged": forged, "junk": "abc", "admin": adminToken_} {
		if s := call(tok); s != 401 {
			t.Errorf("%s: %d", name, s)
		}
	}
	ts.clock.Add(oidc.DefaultTokenTTL + time.Second)
	if s := call(good); s != 401 {
		t.Errorf("expired token: %d", s)
	}
}

// TestClientLifecycle: list, read, change, rotate the secret, delete.
func TestClientLifecycle(t *testing.T) {
	ts := newOIDCServer(t, openTestSQLite(t))
	cr := ts.createClient(`{"name":"shop"}`)
	id, secret := cr["client_id"].(string), cr["client_secret"].(string)
	list := ts.do("GET", "/api/v1/clients", ts.admin(), "").json(t)["clients"].([]any)
	if len(list) != 2 { // newTestServer's client and this one
		t.Fatalf("list: %v", list)
	}
	if strings.Contains(string(ts.do("GET", "/api/v1/clients", ts.admin(), "").body), `"client_secret"`) {
		t.Error("the list shows a secret")
	}
	if r := ts.do("PATCH", "/api/v1/clients/"+id, ts.admin(), `{"grant_types":["client_credentials"]}`); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if r := ts.do("GET", "/api/v1/clients/"+id, ts.admin(), "").json(t); r["name"] != "shop" || len(r["grant_types"].([]any)) != 1 {
		t.Errorf("after patch: %v", r)
	}
	tok := postForm(t, ts, url.Values{"grant_type": {"client_credentials"}}, basic(id, secret)).json(t)["access_token"].(string)
	r := ts.do("POST", "/api/v1/clients/"+id+"/secret", ts.admin(), "")
	newSecret := r.json(t)["client_secret"].(string)
	if r.status != 200 || newSecret == secret {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	if s := ts.do("POST", "/api/v1/verify", basic(id, secret), `{"user":"u","code":"1"}`).status; s != 401 {
		t.Errorf("old secret after rotation: %d", s)
	}
	if s := ts.do("POST", "/api/v1/verify", basic(id, newSecret), `{"user":"u","code":"1"}`).status; s != 200 {
		t.Errorf("new secret: %d", s)
	}
	if s := ts.do("DELETE", "/api/v1/clients/"+id, ts.admin(), "").status; s != 204 {
		t.Errorf("delete: %d", s)
	}
	for name, a := range map[string]auth{"secret": basic(id, newSecret), "token": bearer(tok)} {
		if s := ts.do("POST", "/api/v1/verify", a, `{"user":"u","code":"1"}`).status; s != 401 {
			t.Errorf("deleted client with its %s: %d", name, s)
		}
	}
	if s := ts.do("GET", "/api/v1/clients/"+id, ts.admin(), "").status; s != 404 {
		t.Errorf("get deleted: %d", s)
	}
	ev, _ := ts.store.AuditLog(context.Background(), "", 100)
	seen := map[string]bool{}
	for _, e := range ev {
		seen[e.Action] = true
	}
	ts.Close()
	for _, a := range []string{"client_create", "client_update", "client_secret", "client_delete", "token"} {
		if !seen[a] {
			ev, _ = ts.store.AuditLog(context.Background(), "", 100)
			for _, e := range ev {
				seen[e.Action] = true
			}
			if !seen[a] {
				t.Errorf("no %s audit event", a)
			}
		}
	}
}

// TestSigningKeyRotation: a token signed before a rotation verifies after
// it; the retired key leaves the JWKS once its tokens have expired.
func TestSigningKeyRotation(t *testing.T) {
	ts := newOIDCServer(t, openTestSQLite(t))
	cr := ts.createClient(`{"name":"shop","grant_types":["client_credentials"]}`)
	id, secret := cr["client_id"].(string), cr["client_secret"].(string)
	token := func() string {
		return postForm(t, ts, url.Values{"grant_type": {"client_credentials"}}, basic(id, secret)).json(t)["access_token"].(string)
	}
	before := token()
	oldKID := kidOf(t, before)
	if _, err := oidc.RotateSigningKey(context.Background(), ts.store, sealer{ts.keys}, "ES256", ts.clock.Now()); err != nil {
		t.Fatal(err)
	}
	ts.clock.Add(oidc.KeyReload) // the instance rereads its keys
	after := token()
	if kidOf(t, after) == oldKID {
		t.Fatal("still signing with the old key")
	}
	v := ts.verifier(t)
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := v.Verify(ts.ctx(), tok); err != nil {
			t.Errorf("token from %s the rotation: %v", name, err)
		}
	}
	if n := len(jwksKIDs(t, ts)); n != 2 {
		t.Errorf("JWKS has %d keys during the overlap, want 2", n)
	}
	ts.clock.Add(oidc.RetireAfter)
	kids := jwksKIDs(t, ts)
	if len(kids) != 1 || kids[0] == oldKID {
		t.Errorf("after retirement the JWKS holds %v", kids)
	}
}

func kidOf(t *testing.T, tok string) string {
	jt, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jt.Headers[0].KeyID
}

func jwksKIDs(t *testing.T, ts *testServer) []string {
	var set jose.JSONWebKeySet
	json.Unmarshal(ts.do("GET", "/.well-known/jwks.json", noAuth, "").body, &set)
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// TestTwoInstancesPostgres: two servers on one PostgreSQL share the
// signing keys, the clients and the jti cache.
func TestTwoInstancesPostgres(t *testing.T) {
	dsn := newPostgresDB(t)
	open := func() Store {
		st, err := OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := newOIDCServer(t, open()), newOIDCServer(t, open())
	ka, kb := jwksKIDs(t, a), jwksKIDs(t, b)
	if len(ka) != 1 || len(kb) != 1 || ka[0] != kb[0] {
		t.Fatalf("instances publish %v and %v", ka, kb)
	}
	kp := newKeyPair(t, jose.RS256, "k")
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{kp.jwk}})
	cr := a.createClient(`{"name":"pk","grant_types":["client_credentials"],"token_endpoint_auth_method":"private_key_jwt","jwks":` + string(jwks) + `}`)
	id := cr["client_id"].(string)
	as := assertion(t, jose.RS256, kp.priv, "k", jwt.Claims{Issuer: id, Subject: id, Audience: jwt.Audience{a.url + "/oauth2/token", b.url + "/oauth2/token"},
		Expiry: jwt.NewNumericDate(a.clock.Now().Add(time.Minute)), ID: "once"})
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {as}}
	r := postForm(t, b, form, noAuth) // a client made on a, used on b
	if r.status != 200 {
		t.Fatalf("token on b: %d %s", r.status, r.body)
	}
	if r := postForm(t, a, form, noAuth); r.status != 401 {
		t.Errorf("the jti spent on b was accepted on a: %d", r.status)
	}
	// A token minted by b verifies on a (same keys; a's issuer differs in
	// this test, so check the signature through a's JWKS with go-oidc).
	tok := r.json(t)["access_token"].(string)
	ks := gooidc.NewRemoteKeySet(context.Background(), a.url+"/.well-known/jwks.json")
	if _, err := ks.VerifySignature(context.Background(), tok); err != nil {
		t.Errorf("b's token against a's JWKS: %v", err)
	}
	// Deleting on a revokes on b within the cache lifetime.
	if s := a.do("DELETE", "/api/v1/clients/"+id, a.admin(), "").status; s != 204 {
		t.Fatal(s)
	}
	b.clock.Add(oidc.ClientCacheTTL)
	if s := b.do("POST", "/api/v1/verify", bearer(tok), `{"user":"u","code":"1"}`).status; s != 401 {
		t.Errorf("deleted client's token on b: %d", s)
	}
}
