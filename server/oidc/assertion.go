package oidc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionSigAlgs are the algorithms accepted on a client assertion;
// go-jose refuses any other (none, HS*) before a key is tried.
var assertionSigAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// maxAssertionLen bounds a client assertion before it is parsed.
const maxAssertionLen = 16 << 10

// assertionClaims are the claims of a client assertion (RFC 7523 §3).
type assertionClaims struct {
	jwt.Claims
}

// ParseAssertion parses a client assertion without verifying it and
// returns the claimed client id (iss, which must equal sub) and the
// header's kid. It is separate for fuzzing.
func ParseAssertion(s string) (tok *jwt.JSONWebToken, client, kid string, err error) {
	if len(s) > maxAssertionLen {
		return nil, "", "", fmt.Errorf("client assertion longer than %d bytes", maxAssertionLen)
	}
	tok, err = jwt.ParseSigned(s, assertionSigAlgs)
	if err != nil {
		return nil, "", "", fmt.Errorf("client assertion: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, "", "", fmt.Errorf("client assertion: want one signature")
	}
	var c jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		return nil, "", "", fmt.Errorf("client assertion: claims: %w", err)
	}
	if c.Issuer == "" || c.Issuer != c.Subject {
		return nil, "", "", fmt.Errorf("client assertion: iss and sub must both be the client id")
	}
	return tok, c.Issuer, tok.Headers[0].KeyID, nil
}

// verifyAssertion authenticates a private_key_jwt client (OpenID Connect
// Core §9, RFC 7523 §3): iss = sub = client_id, aud the issuer or
// endpoint, exp at most MaxAssertionTTL ahead, a jti used once, and a
// signature by one of the client's registered keys.
func (p *Provider) verifyAssertion(ctx context.Context, assertion, formID string, endpoints ...string) (Client, error) {
	fail := invalidClient("client authentication failed")
	tok, id, kid, err := ParseAssertion(assertion)
	if err != nil {
		p.log.DebugContext(ctx, "client assertion refused", "err", err)
		return Client{}, fail
	}
	if formID != "" && formID != id {
		return Client{}, fail
	}
	c, found, err := p.lookup(ctx, id)
	if err != nil {
		return Client{}, err
	}
	if !found || c.AuthMethod != AuthPrivateKeyJWT {
		return Client{}, fail
	}
	keys, err := p.clientKeys(ctx, c, kid)
	if err != nil {
		p.log.WarnContext(ctx, "client keys unavailable", "client", c.ID, "err", err)
		return Client{}, fail
	}
	alg := tok.Headers[0].Algorithm
	var claims assertionClaims
	verified := false
	for _, k := range keys {
		if (kid != "" && k.KeyID != kid) || (k.Algorithm != "" && k.Algorithm != alg) {
			continue
		}
		if err := tok.Claims(k.Key, &claims); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Client{}, fail
	}
	now := p.now()
	switch {
	case claims.Issuer != c.ID || claims.Subject != c.ID:
		return Client{}, fail
	case !claims.Audience.Contains(p.Issuer()) && !slices.ContainsFunc(endpoints, claims.Audience.Contains):
		return Client{}, invalidClient("the client assertion's aud must be the issuer or the endpoint's URL")
	case claims.Expiry == nil || !now.Before(claims.Expiry.Time()):
		return Client{}, invalidClient("the client assertion has expired or has no exp")
	case claims.Expiry.Time().After(now.Add(MaxAssertionTTL)):
		return Client{}, invalidClient(fmt.Sprintf("the client assertion's exp is more than %v ahead", MaxAssertionTTL))
	case claims.NotBefore != nil && now.Add(time.Minute).Before(claims.NotBefore.Time()):
		return Client{}, invalidClient("the client assertion is not valid yet")
	case claims.ID == "" || len(claims.ID) > 256:
		return Client{}, invalidClient("the client assertion needs a jti")
	}
	fresh, err := p.store.UseJTI(ctx, c.ID, claims.ID, claims.Expiry.Time(), now)
	if err != nil {
		return Client{}, err
	}
	if !fresh {
		return Client{}, invalidClient("the client assertion was already used")
	}
	return c, nil
}

// clientKeys returns a private_key_jwt client's keys: its jwks, or those
// at its jwks_uri (cached; refetched when kid is unknown).
func (p *Provider) clientKeys(ctx context.Context, c Client, kid string) ([]jose.JSONWebKey, error) {
	if c.JWKS != "" {
		set, err := parseClientJWKS([]byte(c.JWKS))
		return set.Keys, err
	}
	return p.remote.get(ctx, p, c, kid)
}

// remoteKeys caches the key sets fetched from clients' jwks_uri.
type remoteKeys struct {
	mu sync.Mutex
	m  map[string]remoteEntry // by client id
}

type remoteEntry struct {
	uri     string
	keys    []jose.JSONWebKey
	fetched time.Time
}

const (
	remoteTTL      = 5 * time.Minute
	remoteMinFetch = 10 * time.Second
)

func (rk *remoteKeys) forget(id string) {
	rk.mu.Lock()
	delete(rk.m, id)
	rk.mu.Unlock()
}

func (rk *remoteKeys) get(ctx context.Context, p *Provider, c Client, kid string) ([]jose.JSONWebKey, error) {
	now := p.now()
	rk.mu.Lock()
	e, ok := rk.m[c.ID]
	rk.mu.Unlock()
	if ok && e.uri == c.JWKSURI {
		age := now.Sub(e.fetched)
		known := kid == ""
		for _, k := range e.keys {
			known = known || k.KeyID == kid
		}
		if age < remoteTTL && (known || age < remoteMinFetch) {
			return e.keys, nil
		}
	}
	keys, err := fetchJWKS(ctx, p.cfg.HTTPClient, c.JWKSURI)
	if err != nil {
		if ok && e.uri == c.JWKSURI {
			return e.keys, nil // keep the last good set while the fetch fails
		}
		return nil, err
	}
	rk.mu.Lock()
	if len(rk.m) >= maxClientCache {
		clear(rk.m)
	}
	rk.m[c.ID] = remoteEntry{uri: c.JWKSURI, keys: keys, fetched: now}
	rk.mu.Unlock()
	return keys, nil
}

// fetchJWKS gets a key set with the client's timeout, reading at most
// maxJWKSSize bytes.
func fetchJWKS(ctx context.Context, hc *http.Client, uri string) ([]jose.JSONWebKey, error) {
	if err := checkJWKSURI(uri); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks_uri: status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	set, err := parseClientJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	return set.Keys, nil
}
