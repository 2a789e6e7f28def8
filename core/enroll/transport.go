package enroll

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrInsecure: the server's address is plain http on another computer,
// where the token, the secret and the code would cross the network in
// clear.
var ErrInsecure = errors.New("the server's address must be https (plain http only reaches this computer)")

// ErrRedirect: the server answered with a redirect. Following it would
// post the token or code again, possibly to another host or in clear.
var ErrRedirect = errors.New("the server answered with a redirect, which is not followed; use the server's own https address")

// Timeout bounds each call of the client HTTPClient returns.
const Timeout = 30 * time.Second

// HTTPClient is the client the CLI, the terminal UI and the desktop app
// use to reach a Latchkey server: a timeout, and no redirects.
func HTTPClient() *http.Client {
	return &http.Client{Timeout: Timeout, CheckRedirect: refuseRedirect}
}

func refuseRedirect(*http.Request, []*http.Request) error { return ErrRedirect }

// safe returns hc (HTTPClient when nil) with redirects refused whatever
// the caller set.
func safe(hc *http.Client) *http.Client {
	if hc == nil {
		return HTTPClient()
	}
	c := *hc
	c.CheckRedirect = refuseRedirect
	return &c
}

// checkBase refuses a base URL that is not https, unless it is plain
// http to a loopback address (a server on this computer: the desktop
// app's own, or tests).
func checkBase(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("enroll: %q is not a server address", clip(base))
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if loopback(u.Hostname()) {
			return nil
		}
		return ErrInsecure
	}
	return fmt.Errorf("enroll: %q is not an http(s) address", clip(base))
}

// loopback reports whether host names this computer: "localhost" (and
// names under it, RFC 6761) or a loopback IP address.
func loopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
