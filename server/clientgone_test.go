package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
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
	if w.Code != statusClientClosed {
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
