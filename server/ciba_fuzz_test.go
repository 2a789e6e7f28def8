package server

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"latchkey/core/device"
	"latchkey/core/otp"
	"latchkey/server/oidc"
	"latchkey/server/oidc/grants/ciba"
)

// cibaFuzzServer is a server with a CIBA client and one paired device of
// alice, for the fuzz targets of the CIBA endpoints.
type cibaFuzzServer struct {
	*Server
	client, secret string
	dev            ciba.Device
	key            ed25519.PrivateKey
	logs           *syncBuffer // the server's log
}

func newCIBAFuzzServer(f testing.TB) cibaFuzzServer {
	kr, _ := NewKeyring(testKey(5))
	logs := &syncBuffer{}
	s, err := New(Config{Store: openTestSQLite(f), Keyring: kr, AdminToken: adminToken_, PublicURL: "http://127.0.0.1:1",
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	name, gts := "shop", []string{oidc.GrantCIBA}
	c, secret, err := s.oidc.CreateClient(f.Context(), oidc.ClientMetadata{Name: &name, GrantTypes: &gts})
	if err != nil {
		f.Fatal(err)
	}
	// alice's verified credential, paired with a device key.
	e, err := s.CreateCredential(f.Context(), "alice", EnrollRequest{Name: "laptop"}, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	g, err := otp.NewGenerator(e.Secret, otp.Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := s.ConfirmCredential(f.Context(), "alice", e.ID, g.At(time.Now()), "fuzz"); err != nil {
		f.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(nil)
	d, err := s.CIBA().RegisterDevice(f.Context(), "alice", e.ID, pub, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	if ds, err := s.CIBA().Devices(f.Context(), "alice"); err != nil || len(ds) != 1 {
		f.Fatalf("alice's devices: %v %v", ds, err)
	}
	return cibaFuzzServer{Server: s, client: c.ID, secret: secret, dev: d, key: key, logs: logs}
}

// serve runs one request through the server and decodes its JSON body;
// every answer of these endpoints is JSON, whatever came in.
func (s cibaFuzzServer) serve(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if req.Context().Err() != nil && (w.Code == oidc.StatusClientClosed || w.Code == http.StatusServiceUnavailable) {
		return w.Code, nil // the request's context ended first (a loaded machine, a fuzz case's deadline)
	}
	if w.Code >= 500 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, w.Code, w.Body.Bytes())
	}
	var body map[string]any
	if w.Code != http.StatusNoContent {
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s %s: %d not JSON: %q", req.Method, req.URL.Path, w.Code, w.Body.Bytes())
		}
	}
	return w.Code, body
}

// cibaAuthorizeErrors are the error codes CIBA Core §13 and RFC 6749
// §5.2 allow at the backchannel endpoint.
var cibaAuthorizeErrors = []string{"invalid_request", "invalid_scope", "expired_login_hint_token", "unknown_user_id",
	"unauthorized_client", "missing_user_code", "invalid_user_code", "invalid_binding_message", "invalid_client", "access_denied"}

func FuzzCIBAAuthorize(f *testing.F) {
	f.Add("alice", "Pay 20 EUR to shop", "openid", "", "", true)
	f.Add("alice", "Sign in \u202eevil", "openid profile", "60", "", true)
	f.Add("bob", "", "openid", "-1", "", false)
	f.Add("", "x", "", "99999999999999999999", "eyJhbGciOiJub25lIn0.e30.", true)
	f.Add(strings.Repeat("a", 300), strings.Repeat("é", 300), "openid", "1", "", true)
	s := newCIBAFuzzServer(f)
	// The setup accepts a valid request, so the 200 branch below is live.
	ok := httptest.NewRequest("POST", "/oauth2/bc-authorize", strings.NewReader("login_hint=alice&scope=openid&binding_message=x"))
	ok.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	ok.SetBasicAuth(s.client, s.secret)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, ok)
	if w.Code != http.StatusOK {
		f.Fatalf("a valid bc-authorize: %d %s", w.Code, w.Body.Bytes())
	}
	f.Fuzz(func(t *testing.T, loginHint, message, scope, expiry, idTokenHint string, goodAuth bool) {
		form := url.Values{}
		for k, v := range map[string]string{"login_hint": loginHint, "binding_message": message, "scope": scope,
			"requested_expiry": expiry, "id_token_hint": idTokenHint} {
			if v != "" {
				form.Set(k, v)
			}
		}
		req := httptest.NewRequest("POST", "/oauth2/bc-authorize", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		secret := s.secret
		if !goodAuth {
			secret += "x"
		}
		req.SetBasicAuth(s.client, secret)
		status, body := s.serve(t, req)
		switch status {
		case http.StatusOK:
			id, _ := body["auth_req_id"].(string)
			if _, err := hex.DecodeString(id); err != nil || len(id) < 32 {
				t.Fatalf("auth_req_id %q", id)
			}
			if n, _ := body["expires_in"].(float64); n <= 0 {
				t.Fatalf("expires_in %v", body["expires_in"])
			}
			if !goodAuth || loginHint != "alice" || idTokenHint != "" || !slices.Contains(strings.Fields(scope), "openid") ||
				!ciba.ValidBindingMessage(message) {
				t.Fatalf("accepted %v: %v", form, body)
			}
			// The device is shown the message exactly as the client sent it.
			ps, err := s.CIBA().PendingFor(t.Context(), s.dev)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(ps, func(p ciba.Pending) bool { return p.ID == id })
			if i < 0 || ps[i].BindingMessage != message {
				t.Fatalf("the device sees %+v for %q", ps, message)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
			code, _ := body["error"].(string)
			if !slices.Contains(cibaAuthorizeErrors, code) {
				t.Fatalf("%d with error %q", status, code)
			}
			if (status == http.StatusUnauthorized) != (code == "invalid_client") || (code == "invalid_client") == goodAuth {
				t.Fatalf("%d %q with good client authentication %v", status, code, goodAuth)
			}
		default:
			t.Fatalf("status %d: %v", status, body)
		}
	})
}

func FuzzDeviceAPI(f *testing.F) {
	f.Add(true, "0123abcd", `{"answer":"eyJhbGciOiJFZERTQSJ9.e30.AAAA"}`, "")
	f.Add(false, "x", `{}`, device.AuthScheme+" eyJhbGciOiJub25lIn0.e30.")
	f.Add(false, "", "", "Bearer abc")
	f.Add(true, "../../users", `{"answer":""}`, "")
	f.Add(true, strings.Repeat("f", 64), "\x00\xff", "")
	s := newCIBAFuzzServer(f)
	f.Fuzz(func(t *testing.T, signed bool, id, body, rawAuth string) {
		if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
			// Another route, or the mux's path cleaning: not this endpoint.
			id = "-" + hex.EncodeToString([]byte(id))
		}
		path := "/api/v1/device/requests/" + url.PathEscape(id)
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if signed {
			h, err := device.SignRequest(s.key, s.dev.ID, "POST", req.URL.Path, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", h)
		} else {
			req.Header.Set("Authorization", rawAuth)
		}
		status, out := s.serve(t, req)
		if status == http.StatusOK {
			// Only a signature of the device's key over a real request
			// can be accepted, and no request exists here.
			t.Fatalf("answer accepted: %v", out)
		}
		if !signed && (status != http.StatusUnauthorized || out["error"] != "invalid_device") {
			t.Fatalf("unsigned request: %d %v", status, out)
		}
		if out["error"] == nil || out["error"] == "" {
			t.Fatalf("%d without an error code: %v", status, out)
		}
	})
}

func FuzzPairRequests(f *testing.F) {
	f.Add(`{"token":"abc","code":"123456","public_key":"AAAA"}`)
	f.Add(`{"token":"` + strings.Repeat("A", 43) + `"}`)
	f.Add(`{"token":1}`)
	f.Add(`[]`)
	f.Add("\xef\xbb\xbf{}")
	s := newCIBAFuzzServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/api/v1/pair/info", "/api/v1/pair"} {
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			status, out := s.serve(t, req)
			if status == http.StatusOK || out["error"] == nil {
				// No pairing link was ever issued, so nothing pairs.
				t.Fatalf("%s %q: %d %v", path, body, status, out)
			}
		}
	})
}

// FuzzDeviceRequestsQuery sends a paired device's signed long poll with an
// arbitrary query (wait, seen). Properties: 200 with the device's (empty)
// list, or 400 invalid_request; a long wait ends with the request.
// TestRequestEnded: a request to the provider's endpoints (a device's
// poll, bc-authorize, the token endpoint) whose context ends before its
// answer is no server error: 499 for a client that went away (an app
// quitting mid-poll; logged as info, not as a failure), 503 with
// Retry-After for a deadline, as the server's own API answers them.
func TestRequestEnded(t *testing.T) {
	s := newCIBAFuzzServer(t)
	requests := map[string]func(ctx context.Context) *http.Request{
		"device poll": func(ctx context.Context) *http.Request {
			req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/device/requests", nil)
			h, err := device.SignRequest(s.key, s.dev.ID, "GET", req.URL.Path, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", h)
			return req
		},
		"bc-authorize": func(ctx context.Context) *http.Request {
			req := httptest.NewRequestWithContext(ctx, "POST", "/oauth2/bc-authorize", strings.NewReader("login_hint=alice&scope=openid&binding_message=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(s.client, s.secret)
			return req
		},
		"token": func(ctx context.Context) *http.Request {
			req := httptest.NewRequestWithContext(ctx, "POST", "/oauth2/token", strings.NewReader("grant_type="+url.QueryEscape(oidc.GrantCIBA)+"&auth_req_id=nope"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(s.client, s.secret)
			return req
		},
	}
	for name, request := range requests {
		gone, cancel := context.WithCancel(t.Context())
		cancel()
		w := httptest.NewRecorder()
		s.ServeHTTP(w, request(gone))
		if w.Code != oidc.StatusClientClosed {
			t.Errorf("%s, client gone: %d %s; want 499", name, w.Code, w.Body.Bytes())
		}
		late, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		w = httptest.NewRecorder()
		s.ServeHTTP(w, request(late))
		cancel()
		if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "temporarily_unavailable") {
			t.Errorf("%s, deadline: %d %q %s; want 503 temporarily_unavailable with Retry-After", name, w.Code, w.Header().Get("Retry-After"), w.Body.Bytes())
		}
	}
	if l := s.logs.String(); strings.Contains(l, "failed") || !strings.Contains(l, "client closed the request") {
		t.Errorf("log:\n%s", l)
	}
}

func FuzzDeviceRequestsQuery(f *testing.F) {
	f.Add("wait=1")
	f.Add("wait=-1")
	f.Add("wait=99999999999999999999")
	f.Add("seen=a,b,,a&wait=0")
	f.Add("seen=" + strings.Repeat("x,", 101))
	f.Add("%zz&wait=%00")
	s := newCIBAFuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		req := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/device/requests", nil)
		req.URL.RawQuery = query
		h, err := device.SignRequest(s.key, s.dev.ID, "GET", req.URL.Path, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", h)
		switch status, out := s.serve(t, req); status {
		case http.StatusOK:
			if l, ok := out["requests"].([]any); !ok || len(l) != 0 || out["device_id"] != s.dev.ID {
				t.Fatalf("%q: %v", query, out)
			}
		case http.StatusBadRequest:
			if out["error"] != "invalid_request" {
				t.Fatalf("%q: %v", query, out)
			}
		default:
			if ctx.Err() != nil {
				return // the 20 ms ran out before the answer (a loaded machine): the store's wait was cut short
			}
			t.Fatalf("%q: %d %v", query, status, out)
		}
	})
}
