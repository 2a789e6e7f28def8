package enroll

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrors: each server answer maps to the error a user can act on,
// and nothing of the request (token, code) leaks into it.
func TestErrors(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   error
		text   string
	}{
		{404, `{"error":"invalid_link","error_description":"x"}`, ErrInvalidLink, ""},
		{400, `{"error":"invalid_code"}`, ErrCodeRejected, ""},
		{429, `{"error":"locked"}`, ErrLocked, ""},
		{429, ``, ErrLocked, ""},
		{401, `{"error":"unauthorized"}`, ErrUnauthorized, ""},
		{404, `{"error":"not_found"}`, ErrNotFound, ""},
		{400, `{"error":"invalid_request","error_description":"name is too long"}`, nil, "name is too long"},
		{502, `<html>bad gateway</html>`, nil, "502 Bad Gateway"},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got = string(b)
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			l := Link{Server: srv.URL, Token: tok}
			err := Client{}.Confirm(context.Background(), l, "135790")
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.text != "" && (err == nil || !strings.Contains(err.Error(), tc.text)) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.text)
			}
			if strings.Contains(err.Error(), tok) || strings.Contains(err.Error(), "135790") {
				t.Errorf("error leaks the request: %v", err)
			}
			if !strings.Contains(got, `"token":"`+tok+`"`) {
				t.Errorf("the token was not posted in the body: %s", got)
			}
		})
	}
}

// TestAdminPaths: user names are escaped into the path, the token goes in
// the Authorization header.
func TestAdminPaths(t *testing.T) {
	var path, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, auth = r.URL.EscapedPath(), r.Header.Get("Authorization")
		io.WriteString(w, `{"credentials":[{"id":"c1","name":"Phone","verified":true,"created":"2026-11-23T12:00:00Z"}]}`)
	}))
	defer srv.Close()
	cs, err := Admin{Server: srv.URL + "/", Token: "T"}.Credentials(context.Background(), "a/b c")
	if err != nil || len(cs) != 1 || !cs[0].Verified || cs[0].Name != "Phone" {
		t.Fatalf("%+v %v", cs, err)
	}
	if path != "/api/v1/users/a%2Fb%20c/credentials" || auth != "Bearer T" {
		t.Errorf("path %q auth %q", path, auth)
	}
}
