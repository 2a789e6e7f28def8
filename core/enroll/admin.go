package enroll

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Admin calls a Latchkey server's helpdesk API with the admin token.
type Admin struct {
	// Server is the base URL, e.g. "https://auth.example.com".
	Server string
	// Token is the admin bearer token. Never print or log it.
	Token string
	// HTTP is the client; nil means HTTPClient. Redirects are refused.
	HTTP *http.Client
}

// Credential is one credential of a user as the server lists it.
type Credential struct {
	ID       string     `json:"id"`
	Name     string     `json:"name"`
	Issuer   string     `json:"issuer"`
	Verified bool       `json:"verified"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires,omitempty"`
	LastUsed *time.Time `json:"last_used,omitempty"`
}

// Created is a new credential as the server shows it once.
type Created struct {
	ID             string    `json:"id"`
	Secret         string    `json:"secret"` // base32; shown once
	OTPAuthURI     string    `json:"otpauth_uri"`
	QRPNG          []byte    `json:"qr_png"`
	Expires        time.Time `json:"expires"`
	EnrollmentLink string    `json:"enrollment_link"`
}

func (a Admin) base() string { return strings.TrimRight(a.Server, "/") }

func userPath(user string) string { return "/api/v1/users/" + url.PathEscape(user) + "/credentials" }

// Credentials lists user's credentials (never their secrets).
func (a Admin) Credentials(ctx context.Context, user string) ([]Credential, error) {
	var out struct {
		Credentials []Credential `json:"credentials"`
	}
	err := call(ctx, a.HTTP, http.MethodGet, a.base(), userPath(user), a.Token, nil, &out)
	return out.Credentials, err
}

// Create issues a new unverified credential named name ("" = the
// issuer's name) for user.
func (a Admin) Create(ctx context.Context, user, name string) (*Created, error) {
	var out Created
	body := map[string]string{}
	if name != "" {
		body["name"] = name
	}
	if err := call(ctx, a.HTTP, http.MethodPost, a.base(), userPath(user), a.Token, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Confirm sends the user's first code for credential id.
func (a Admin) Confirm(ctx context.Context, user, id, code string) error {
	return call(ctx, a.HTTP, http.MethodPost, a.base(), userPath(user)+"/"+url.PathEscape(id)+"/verify", a.Token,
		map[string]string{"code": code}, nil)
}

// Rename renames credential id.
func (a Admin) Rename(ctx context.Context, user, id, name string) error {
	return call(ctx, a.HTTP, http.MethodPatch, a.base(), userPath(user)+"/"+url.PathEscape(id), a.Token,
		map[string]string{"name": name}, nil)
}

// Delete revokes credential id.
func (a Admin) Delete(ctx context.Context, user, id string) error {
	return call(ctx, a.HTTP, http.MethodDelete, a.base(), userPath(user)+"/"+url.PathEscape(id), a.Token, nil, nil)
}
