package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-jose/go-jose/v4"
)

// ClientMetadata is what a client is created or changed with. In a
// change, a nil field keeps the stored value.
type ClientMetadata struct {
	Name       *string
	GrantTypes *[]string
	AuthMethod *string
	JWKS       *json.RawMessage
	JWKSURI    *string
	// AcceptEmpty is the client's accept_empty (see Client).
	AcceptEmpty *bool
	// AllowedGroups is the client's allowed_groups (see Client).
	AllowedGroups *[]string
}

const (
	maxNameLen  = 200
	maxJWKSSize = 64 << 10
	// maxClientCache bounds the client cache; past it, it starts over.
	maxClientCache = 10_000
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidMetadata}, args...)...)
}

func newSecret() (secret string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	secret = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256Sum([]byte(secret))
	return secret, sum[:]
}

// apply checks md and writes it over c.
func (p *Provider) apply(c *Client, md ClientMetadata) error {
	if md.Name != nil {
		name := strings.TrimSpace(*md.Name)
		if name == "" {
			return invalidf("name is required")
		}
		if len(name) > maxNameLen || strings.IndexFunc(name, unicode.IsControl) >= 0 {
			return invalidf("name must be at most %d characters, without control characters", maxNameLen)
		}
		c.Name = name
	}
	if md.GrantTypes != nil {
		gts := []string{}
		for _, gt := range *md.GrantTypes {
			if _, ok := p.grants[gt]; !ok {
				return invalidf("grant type %q is not supported (supported: %s)", gt, strings.Join(p.GrantTypes(), ", "))
			}
			if !slices.Contains(gts, gt) {
				gts = append(gts, gt)
			}
		}
		c.GrantTypes = gts
	}
	if md.AuthMethod != nil {
		switch *md.AuthMethod {
		case AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT:
			c.AuthMethod = *md.AuthMethod
		case "":
			c.AuthMethod = AuthSecretBasic
		default:
			return invalidf("token_endpoint_auth_method must be %s, %s or %s", AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT)
		}
	}
	if md.JWKS != nil {
		raw := strings.TrimSpace(string(*md.JWKS))
		if raw == "null" {
			raw = ""
		}
		if raw != "" {
			if _, err := parseClientJWKS([]byte(raw)); err != nil {
				return err
			}
		}
		c.JWKS = raw
	}
	if md.JWKSURI != nil {
		if *md.JWKSURI != "" {
			if err := checkJWKSURI(*md.JWKSURI); err != nil {
				return err
			}
		}
		c.JWKSURI = *md.JWKSURI
	}
	if md.AcceptEmpty != nil {
		c.AcceptEmpty = *md.AcceptEmpty
	}
	if md.AllowedGroups != nil {
		gs := []string{}
		for _, g := range *md.AllowedGroups {
			if !ValidGroup(g) {
				return invalidf("allowed_groups: a group is 1..%d characters without spaces or control characters", MaxGroupLen)
			}
			if !slices.Contains(gs, g) {
				gs = append(gs, g)
			}
		}
		if len(gs) > MaxGroups {
			return invalidf("allowed_groups: at most %d groups", MaxGroups)
		}
		c.AllowedGroups = gs
	}
	if c.AuthMethod == AuthPrivateKeyJWT {
		if (c.JWKS == "") == (c.JWKSURI == "") {
			return invalidf("a private_key_jwt client needs jwks or jwks_uri (one of them)")
		}
	} else if c.JWKS != "" || c.JWKSURI != "" {
		return invalidf("jwks and jwks_uri are for private_key_jwt clients only")
	}
	return nil
}

// Bounds of a group name and of a list of groups.
const (
	MaxGroupLen = 64
	MaxGroups   = 100
)

// ValidGroup reports whether g is a usable group name: 1..MaxGroupLen
// bytes of UTF-8 without spaces or control characters (lists of groups
// are stored space-separated).
func ValidGroup(g string) bool {
	return g != "" && len(g) <= MaxGroupLen && utf8.ValidString(g) &&
		strings.IndexFunc(g, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.In(r, unicode.Cf) }) < 0
}

// parseClientJWKS parses a client's key set: public signing keys only.
func parseClientJWKS(b []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if len(b) > maxJWKSSize {
		return set, invalidf("jwks is larger than %d bytes", maxJWKSSize)
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return set, invalidf("jwks is not a JSON Web Key Set: %v", err)
	}
	if len(set.Keys) == 0 {
		return set, invalidf("jwks holds no key")
	}
	for _, k := range set.Keys {
		if !k.IsPublic() {
			return set, invalidf("jwks must hold public keys only")
		}
		if !k.Valid() || (k.Use != "" && k.Use != "sig") {
			return set, invalidf("jwks holds a key that is not a valid signing key")
		}
	}
	return set, nil
}

// checkJWKSURI allows https, and http only to a loopback host.
func checkJWKSURI(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return invalidf("jwks_uri must be an absolute https URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
	}
	return invalidf("jwks_uri must be https (http only to a loopback address)")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CreateClient registers a client and returns it with its secret (empty
// for private_key_jwt). The secret is returned only here.
func (p *Provider) CreateClient(ctx context.Context, md ClientMetadata) (Client, string, error) {
	if md.Name == nil {
		return Client{}, "", invalidf("name is required")
	}
	now := p.now()
	b := make([]byte, 12)
	rand.Read(b)
	c := Client{ID: "lk_" + hex.EncodeToString(b), AuthMethod: AuthSecretBasic, GrantTypes: []string{}, Created: now, Updated: now}
	if err := p.apply(&c, md); err != nil {
		return Client{}, "", err
	}
	var secret string
	if c.AuthMethod != AuthPrivateKeyJWT {
		secret, c.SecretHash = newSecret()
	}
	if err := p.store.CreateClient(ctx, c); err != nil {
		return Client{}, "", err
	}
	p.forget(c.ID)
	p.changed("client_create", c.ID)
	return c, secret, nil
}

// UpdateClient changes a client's metadata. A client that becomes
// private_key_jwt loses its secret; one that leaves it gets a new secret,
// returned here once.
func (p *Provider) UpdateClient(ctx context.Context, id string, md ClientMetadata) (Client, string, error) {
	c, err := p.store.Client(ctx, id)
	if err != nil {
		return Client{}, "", err
	}
	was := c.AuthMethod
	if md.AuthMethod != nil && *md.AuthMethod != AuthPrivateKeyJWT && md.JWKS == nil && md.JWKSURI == nil {
		// Leaving private_key_jwt drops the keys.
		empty, none := json.RawMessage(nil), ""
		md.JWKS, md.JWKSURI = &empty, &none
	}
	if err := p.apply(&c, md); err != nil {
		return Client{}, "", err
	}
	var secret string
	switch {
	case c.AuthMethod == AuthPrivateKeyJWT:
		c.SecretHash = nil
	case was == AuthPrivateKeyJWT:
		secret, c.SecretHash = newSecret()
	}
	c.Updated = p.now()
	if err := p.store.UpdateClient(ctx, c); err != nil {
		return Client{}, "", err
	}
	p.forget(id)
	p.changed("client_update", id)
	return c, secret, nil
}

// RotateSecret gives a secret client a new secret, returned once; the
// old one stops working (on other instances within ClientCacheTTL).
func (p *Provider) RotateSecret(ctx context.Context, id string) (string, error) {
	c, err := p.store.Client(ctx, id)
	if err != nil {
		return "", err
	}
	if c.AuthMethod == AuthPrivateKeyJWT {
		return "", invalidf("a private_key_jwt client has no secret")
	}
	var secret string
	secret, c.SecretHash = newSecret()
	c.Updated = p.now()
	if err := p.store.UpdateClient(ctx, c); err != nil {
		return "", err
	}
	p.forget(id)
	p.changed("client_secret", id)
	return secret, nil
}

// DeleteClient revokes a client.
func (p *Provider) DeleteClient(ctx context.Context, id string) error {
	if err := p.store.DeleteClient(ctx, id); err != nil {
		return err
	}
	p.forget(id)
	p.changed("client_delete", id)
	return nil
}

// Client returns a client (never its secret, which is not stored).
func (p *Provider) Client(ctx context.Context, id string) (Client, error) {
	return p.store.Client(ctx, id)
}

// Clients lists the clients.
func (p *Provider) Clients(ctx context.Context) ([]Client, error) { return p.store.Clients(ctx) }

func (p *Provider) changed(action, id string) {
	p.changes.WithLabelValues(action).Inc()
	p.cfg.Audit(AuditEvent{Action: action, Client: id, Outcome: "ok"})
	p.remote.forget(id)
}

// clientEntry is what an instance read about a client id: the client, or
// that there is none.
type clientEntry struct {
	c     Client
	found bool
	at    time.Time
}

// lookup returns the client with id, from a cache that holds each answer
// (found or not) for ClientCacheTTL: a known and an unknown id cost the
// same, one read per id per TTL.
func (p *Provider) lookup(ctx context.Context, id string) (Client, bool, error) {
	now := p.now()
	p.clients.mu.Lock()
	e, ok := p.clients.m[id]
	p.clients.mu.Unlock()
	if ok && now.Sub(e.at) < ClientCacheTTL && !now.Before(e.at) {
		return e.c, e.found, nil
	}
	c, err := p.store.Client(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		e = clientEntry{at: now}
	case err != nil:
		return Client{}, false, err
	default:
		e = clientEntry{c: c, found: true, at: now}
	}
	p.clients.mu.Lock()
	if len(p.clients.m) >= maxClientCache {
		clear(p.clients.m)
	}
	p.clients.m[id] = e
	p.clients.mu.Unlock()
	return e.c, e.found, nil
}

func (p *Provider) forget(id string) {
	p.clients.mu.Lock()
	delete(p.clients.m, id)
	p.clients.mu.Unlock()
}

// dummyHash stands in for the secret hash of an unknown client id or a
// client without a secret, so that every path hashes and compares once.
var dummyHash = sha256Sum([]byte("latchkey: no such client"))

// AuthenticateSecret checks a client id and secret. A known id with a
// wrong secret and an unknown id do the same work: one cache lookup (a
// read per id per ClientCacheTTL), one hash, one constant-time compare.
func (p *Provider) AuthenticateSecret(ctx context.Context, id, secret string) (Client, bool, error) {
	c, found, err := p.lookup(ctx, id)
	if err != nil {
		return Client{}, false, err
	}
	want := dummyHash[:]
	hasSecret := found && len(c.SecretHash) == len(dummyHash)
	if hasSecret {
		want = c.SecretHash
	}
	sum := p.hash([]byte(secret))
	match := subtle.ConstantTimeCompare(sum[:], want) == 1
	if !hasSecret || !match {
		return Client{}, false, nil
	}
	return c, true, nil
}
