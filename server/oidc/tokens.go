package oidc

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// APIAudience is the aud of access tokens for the server's own API.
func (p *Provider) APIAudience() string { return p.Issuer() + "/api" }

// AccessClaims are the claims of an RFC 9068 access token.
type AccessClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope,omitempty"`
}

// IDTokenClaims are an id_token's claims (OpenID Connect Core §2).
type IDTokenClaims struct {
	jwt.Claims
	// Aud shadows Claims.Audience so that aud is always an array
	// ([client_id]), as the email code grant's issue asks; go-jose would
	// write a single audience as a string.
	Aud      []string `json:"aud,omitempty"`
	AZP      string   `json:"azp,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	Nonce    string   `json:"nonce,omitempty"`
	// Email and EmailVerified are set by a grant that proved the address.
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
}

func newJTI() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sign signs claims with the active key; typ "at+jwt" marks an access token.
func (p *Provider) sign(ctx context.Context, typ string, claims any) (string, error) {
	if p.Issuer() == "" {
		return "", ErrNoIssuer
	}
	k, err := p.activeKey(ctx)
	if err != nil {
		return "", err
	}
	signer := k.signer
	if typ == "at+jwt" {
		signer = k.atSigner
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// MintAccessToken issues an RFC 9068 JWT access token (typ at+jwt) for
// the server's API: iss, aud = APIAudience, sub, client_id, iat, exp, jti.
func (p *Provider) MintAccessToken(ctx context.Context, subject, clientID, scope string) (string, time.Duration, error) {
	now := p.now()
	c := AccessClaims{
		Claims: jwt.Claims{Issuer: p.Issuer(), Subject: subject, Audience: jwt.Audience{p.APIAudience()},
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(p.cfg.TokenTTL)), ID: newJTI()},
		ClientID: clientID, Scope: scope,
	}
	tok, err := p.sign(ctx, "at+jwt", c)
	return tok, p.cfg.TokenTTL, err
}

// IDToken describes an id_token to mint.
type IDToken struct {
	Subject  string
	Audience string // the client id
	AuthTime time.Time
	AMR      []string
	Nonce    string
	// VerifiedEmail, when set, is an address the grant proved the
	// subject reads: the email and email_verified claims.
	VerifiedEmail string
}

// MintIDToken issues an id_token: iss, sub, aud, azp, exp, iat,
// auth_time, amr, jti (and nonce when given).
func (p *Provider) MintIDToken(ctx context.Context, t IDToken) (string, error) {
	now := p.now()
	c := IDTokenClaims{
		Claims: jwt.Claims{Issuer: p.Issuer(), Subject: t.Subject,
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(p.cfg.TokenTTL)), ID: newJTI()},
		Aud: []string{t.Audience}, AZP: t.Audience, AMR: t.AMR, Nonce: t.Nonce,
		Email: t.VerifiedEmail, EmailVerified: t.VerifiedEmail != "",
	}
	if !t.AuthTime.IsZero() {
		c.AuthTime = t.AuthTime.Unix()
	}
	return p.sign(ctx, "", c)
}

// ErrBadToken is returned for any access token that does not verify.
var ErrBadToken = errors.New("invalid access token")

// tokenAlgs are the algorithms of the provider's own keys.
var tokenAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// VerifyAccessToken checks an access token for the server's API: the
// signature by a published key, typ at+jwt, iss, aud, exp. It returns the
// claims; the caller decides what the subject may do.
func (p *Provider) VerifyAccessToken(ctx context.Context, raw string) (AccessClaims, error) {
	var c AccessClaims
	if p.Issuer() == "" || len(raw) > maxAssertionLen {
		return c, ErrBadToken
	}
	tok, err := jwt.ParseSigned(raw, tokenAlgs)
	if err != nil || len(tok.Headers) != 1 {
		return c, ErrBadToken
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" && typ != "application/at+jwt" {
		return c, ErrBadToken
	}
	k, err := p.publicKey(ctx, h.KeyID)
	if err != nil {
		return c, err
	}
	if k == nil || k.pub.Algorithm != h.Algorithm {
		return c, ErrBadToken
	}
	if err := tok.Claims(k.pub.Key, &c); err != nil {
		return c, ErrBadToken
	}
	err = c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: p.Issuer(), AnyAudience: jwt.Audience{p.APIAudience()}, Time: p.now()}, 0)
	if err != nil || c.Expiry == nil || c.Subject == "" {
		return c, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	return c, nil
}

// AuthenticateBearer checks a Bearer token on the server's API: an
// access token a client got for itself (sub = client_id) by a grant it
// still has. A token about a user, or of a client since deleted, is
// refused.
func (p *Provider) AuthenticateBearer(ctx context.Context, raw string) (Client, bool, error) {
	c, err := p.VerifyAccessToken(ctx, raw)
	if errors.Is(err, ErrBadToken) {
		return Client{}, false, nil
	}
	if err != nil {
		return Client{}, false, err
	}
	if c.Subject != c.ClientID {
		return Client{}, false, nil
	}
	cl, found, err := p.lookup(ctx, c.ClientID)
	if err != nil || !found {
		return Client{}, false, err
	}
	return cl, true, nil
}
