package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"latchkey/server/oidc"
)

// A client that goes away before its answer is no server error: the
// request is logged at info level, not as "request failed", and counted
// with status 499, not 500 (load tools end their runs this way).
func TestClientGoneIsNoServerError(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	ts.enroll("alice", "")
	b, _ := json.Marshal(verifyRequest{User: "alice", Code: "123456"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("POST", "/api/v1/verify", strings.NewReader(string(b))).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	ts.client()(req)
	w := httptest.NewRecorder()
	ts.Server.ServeHTTP(w, req)
	if w.Code != oidc.StatusClientClosed {
		t.Fatalf("status %d %s, want 499", w.Code, w.Body.Bytes())
	}
	if l := ts.logs.String(); strings.Contains(l, "request failed") || !strings.Contains(l, "client closed the request") {
		t.Errorf("log:\n%s", l)
	}
	m := ts.do("GET", "/metrics", noAuth, "").body
	if !bytes.Contains(m, []byte(`latchkey_http_requests_total{code="499",route="POST /api/v1/verify"} 1`)) ||
		bytes.Contains(m, []byte(`code="500"`)) {
		t.Errorf("metrics:\n%s", m)
	}
}

// Paths of the API that no route serves answer in the API's JSON, as
// every other API error does; other paths keep the plain 404.
func TestAPIMissIsJSON(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/nope", 404, "not_found", ""},
		{"POST", "/oauth2/nope", 404, "not_found", ""},
		{"DELETE", "/api/v1/verify", 405, "method_not_allowed", "POST"},
		{"GET", "/api/v1/device/requests/", 404, "not_found", ""},
	} {
		r := ts.do(c.method, c.path, noAuth, "")
		var body apiError
		if r.status != c.status || r.header.Get("Content-Type") != "application/json" ||
			json.Unmarshal(r.body, &body) != nil || body.Error != c.code || !strings.Contains(r.header.Get("Allow"), c.allow) {
			t.Errorf("%s %s: %d %q %q (Allow %q)", c.method, c.path, r.status, r.header.Get("Content-Type"), r.body, r.header.Get("Allow"))
		}
	}
	if r := ts.do("GET", "/nope", noAuth, ""); r.status != 404 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("GET /nope: %d %q", r.status, r.header.Get("Content-Type"))
	}
}
