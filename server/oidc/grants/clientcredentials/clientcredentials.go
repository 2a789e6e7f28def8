// Package clientcredentials is the client_credentials grant (RFC 6749
// §4.4): a client gets an access token for itself, to call the server's
// API (/api/v1/verify) without a shared secret when it authenticates
// with private_key_jwt. It keeps no state, so it has no store.
package clientcredentials

import (
	"context"

	"latchkey/server/oidc"
)

// GrantType is the grant_type value.
const GrantType = "client_credentials"

// Grant issues RFC 9068 access tokens with sub = client_id and aud = the
// API audience.
type Grant struct{}

// New returns the grant, to register with [oidc.Provider.Register].
func New() Grant { return Grant{} }

// Type returns "client_credentials".
func (Grant) Type() string { return GrantType }

// Token mints the access token. The only scope is the API itself, so a
// scope parameter is refused rather than silently narrowed.
func (Grant) Token(ctx context.Context, req *oidc.TokenRequest) (*oidc.TokenResponse, error) {
	if s := req.Form.Get("scope"); s != "" {
		return nil, oidc.Errorf("invalid_scope", "this grant takes no scope")
	}
	tok, ttl, err := req.Provider.MintAccessToken(ctx, req.Client.ID, req.Client.ID, "")
	if err != nil {
		return nil, err
	}
	return &oidc.TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds())}, nil
}
