package enroll

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRedirectNotFollowed: a server that redirects the redemption (307
// keeps the method and body) to another address does not get the token
// posted there, whatever client the caller passed in.
func TestRedirectNotFollowed(t *testing.T) {
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	l := Link{Server: srv.URL, Token: tok}
	for _, c := range []Client{{}, {HTTP: http.DefaultClient}, {HTTP: &http.Client{Timeout: time.Second}}} {
		if _, err := c.Redeem(context.Background(), l); !errors.Is(err, ErrRedirect) {
			t.Errorf("redeem through a redirect: %v", err)
		}
		if err := c.Confirm(context.Background(), l, "123456"); !errors.Is(err, ErrRedirect) {
			t.Errorf("confirm through a redirect: %v", err)
		}
	}
	if _, err := (Admin{Server: srv.URL, Token: "T"}).Credentials(context.Background(), "alice"); !errors.Is(err, ErrRedirect) {
		t.Errorf("admin call through a redirect: %v", err)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the redirect target was reached %d times", n)
	}
}

// TestPlainHTTPOnlyToThisComputer: nothing is sent to a plain-http server
// on another host (.invalid names: a regression fails to resolve
// rather than sending anything anywhere).
func TestPlainHTTPOnlyToThisComputer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, base := range []string{"http://auth.example.invalid:8080", "http://latchkey.invalid"} {
		if err := (Client{}).Confirm(ctx, Link{Server: base, Token: tok}, "123456"); !errors.Is(err, ErrInsecure) {
			t.Errorf("%s: %v", base, err)
		}
		if _, err := (Admin{Server: base, Token: "T"}).Credentials(ctx, "alice"); !errors.Is(err, ErrInsecure) {
			t.Errorf("admin %s: %v", base, err)
		}
	}
	if !strings.Contains(ErrInsecure.Error(), "https") {
		t.Errorf("the error does not say what to do: %v", ErrInsecure)
	}
}
