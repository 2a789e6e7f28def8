package oidc

import (
	"context"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// VerifyIDTokenHint checks an id_token this provider issued, given back
// as a hint about the user (CIBA's id_token_hint): the signature by a
// published key, no typ of an access token, and iss. An expired token is
// accepted, as OpenID Connect Core §3.1.2.1 allows for hints; the
// subject is what the caller uses.
func (p *Provider) VerifyIDTokenHint(ctx context.Context, raw string) (IDTokenClaims, error) {
	var c IDTokenClaims
	if p.Issuer() == "" || len(raw) > maxAssertionLen {
		return c, ErrBadToken
	}
	tok, err := jwt.ParseSigned(raw, tokenAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return c, ErrBadToken
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ == "at+jwt" || typ == "application/at+jwt" {
		return c, ErrBadToken
	}
	k, err := p.publicKey(ctx, h.KeyID)
	if err != nil {
		return c, err
	}
	if k == nil || k.pub.Algorithm != h.Algorithm {
		return c, ErrBadToken
	}
	if err := tok.Claims(k.pub.Key, &c); err != nil || c.Issuer != p.Issuer() || c.Subject == "" {
		return c, ErrBadToken
	}
	return c, nil
}
