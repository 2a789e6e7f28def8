// Package oidc is Latchkey's OpenID provider core: the signing keys and
// their JWKS, the discovery document, the client registry and client
// authentication, and the token endpoint, which hands each grant_type to
// a [Grant] registered with it. The grants themselves live in packages
// of their own under oidc/grants (client_credentials now; the email code
// and CIBA grants next), so that the tree says where each one is.
//
// The provider has no front channel: there is no authorization endpoint,
// and response_types_supported is ["id_token"] only because Discovery
// requires the member.
//
// The issuer is fixed by the operator (the public URL, else the scheme
// and listen address), never taken from a request's Host header. Without
// an issuer every OpenID endpoint answers 404; the client registry and
// HTTP Basic client authentication work regardless.
//
// State lives in a [Store] (the server's SQL database): the signing keys
// sealed with the master key, the clients with their metadata, and the
// client-assertion jti values until they expire. Every instance on one
// database signs with the same keys and sees a client's change within
// [ClientCacheTTL].
package oidc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Errors of the provider's stores and operations.
var (
	// ErrNotFound is the store's "no such row" (the server's store uses
	// the same value).
	ErrNotFound = errors.New("not found")
	// ErrInvalidMetadata wraps a message about client metadata a caller
	// can act on.
	ErrInvalidMetadata = errors.New("invalid client metadata")
	// ErrNoIssuer is returned where an issuer is needed and none is set.
	ErrNoIssuer = errors.New("no OpenID issuer: set the public URL, or listen on a specific address")
)

// Token endpoint authentication methods.
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
)

// Defaults and limits.
const (
	// DefaultTokenTTL is the lifetime of access tokens and id_tokens.
	DefaultTokenTTL = 10 * time.Minute
	// MaxTokenTTL bounds every token's lifetime; a rotated signing key
	// stays published this long (plus KeyReload and a minute) after its
	// last signature.
	MaxTokenTTL = time.Hour
	// KeyReload is how often an instance rereads the signing keys, so
	// that a rotation done elsewhere reaches it.
	KeyReload = 10 * time.Second
	// ClientCacheTTL is how long an instance trusts what it read about a
	// client id (found or not): a change or revocation on another
	// instance takes effect within it.
	ClientCacheTTL = 5 * time.Second
	// MaxAssertionTTL is the furthest ahead a client assertion's exp may be.
	MaxAssertionTTL = 5 * time.Minute
	// DefaultMaxBody limits a token request's body.
	DefaultMaxBody = 64 << 10
)

// Client is an application registered with the server. SecretHash is
// SHA-256 of the client secret (256 random bits, so a slow hash would add
// cost and no strength); it is empty for a private_key_jwt client.
type Client struct {
	ID         string
	Name       string
	SecretHash []byte
	// GrantTypes are the grants the client may use at the token endpoint;
	// none unless listed.
	GrantTypes []string
	// AuthMethod is how the client authenticates at the token endpoint.
	// A client with a secret may use either secret method.
	AuthMethod string
	// JWKS (a JSON Web Key Set, public keys only) or JWKSURI holds the
	// keys of a private_key_jwt client.
	JWKS    string
	JWKSURI string
	// AcceptEmpty makes /api/v1/verify answer valid (reason
	// no_credential) for a user with no verified credential.
	AcceptEmpty bool
	// AllowedGroups limits the client to users in one of these groups;
	// empty means every user.
	AllowedGroups []string
	Created       time.Time
	Updated       time.Time
}

// SigningKey is one of the provider's signing keys as stored: Sealed is
// the private JWK, sealed with the master key.
type SigningKey struct {
	KID     string
	Alg     string
	Sealed  []byte
	Created time.Time
	// Retires is when the key leaves the JWKS; zero while it is the key
	// that signs.
	Retires time.Time
}

// Store is the provider's persistent state.
type Store interface {
	// CreateClient adds a client; ErrExists-like failures are errors.
	CreateClient(ctx context.Context, c Client) error
	// Client returns the client with id, or ErrNotFound.
	Client(ctx context.Context, id string) (Client, error)
	// Clients lists every client, oldest first.
	Clients(ctx context.Context) ([]Client, error)
	// UpdateClient rewrites the client with c.ID, or returns ErrNotFound.
	UpdateClient(ctx context.Context, c Client) error
	// DeleteClient removes a client, or returns ErrNotFound.
	DeleteClient(ctx context.Context, id string) error

	// SigningKeys returns every stored signing key.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// AddSigningKey stores k as the signing key. With retire zero it does
	// so only if no key is signing yet (first start; of instances racing,
	// one wins) and reports whether it did; otherwise the keys signing
	// until now retire at retire, and keys retired before k.Created are
	// deleted. It runs in one transaction.
	AddSigningKey(ctx context.Context, k SigningKey, retire time.Time) (bool, error)
	// ResealSigningKeys rewrites every sealed key with fn in one
	// transaction (master key rotation).
	ResealSigningKeys(ctx context.Context, fn func(kid string, sealed []byte) ([]byte, error)) (int, error)

	// UseJTI records a client assertion's jti until exp and reports
	// whether it was new; of concurrent calls with one jti exactly one
	// gets true, across instances. It may sweep jtis expired before now.
	UseJTI(ctx context.Context, client, jti string, exp, now time.Time) (bool, error)
}

// Sealer seals the signing keys at rest (the server's master key).
type Sealer interface {
	Seal(plaintext []byte, aad string) ([]byte, error)
	Open(sealed []byte, aad string) ([]byte, error)
}

// AuditEvent is what the provider tells the audit log.
type AuditEvent struct {
	Action string // client_create, client_update, client_delete, client_secret, token
	Client string
	// User is whom a token request is about, when the grant says (the
	// email code grant's address); never a code or a secret.
	User    string
	Outcome string
}

// Config holds a provider's dependencies. Store and Sealer are required;
// zero fields take the defaults named beside them.
type Config struct {
	Store  Store
	Sealer Sealer
	// Issuer is the OpenID issuer URL; empty until SetIssuer (404s).
	Issuer string
	// SigningAlg is the algorithm of a key generated at first start:
	// RS256 (default) or ES256.
	SigningAlg string
	// TokenTTL is the lifetime of issued tokens (DefaultTokenTTL, at most MaxTokenTTL).
	TokenTTL time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
	// Registry receives the provider's metrics; nil means none are kept.
	Registry *prometheus.Registry
	// Audit receives client changes and token issuance; nil drops them.
	Audit func(AuditEvent)
	// MaxBody limits token request bodies (DefaultMaxBody).
	MaxBody int64
	// HTTPClient fetches clients' jwks_uri; nil means one with a 5 s timeout.
	HTTPClient *http.Client
}

// Provider is the OpenID provider.
type Provider struct {
	cfg    Config
	store  Store
	now    func() time.Time
	log    *slog.Logger
	issuer atomic.Pointer[string]
	grants map[string]Grant
	// hash is SHA-256; a field so that a test can count calls.
	hash func([]byte) [32]byte

	keys    keyCache
	clients clientCache
	remote  remoteKeys

	tokens  *prometheus.CounterVec
	changes *prometheus.CounterVec
}

// New returns a provider. It reads no key yet: [Provider.EnsureKeys]
// does, and the first request that needs a key.
func New(cfg Config) (*Provider, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, errors.New("oidc: config needs a Store and a Sealer")
	}
	if cfg.SigningAlg == "" {
		cfg.SigningAlg = "RS256"
	}
	if _, ok := keyAlgs[cfg.SigningAlg]; !ok {
		return nil, errors.New("oidc: signing algorithm must be RS256 or ES256")
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	cfg.TokenTTL = min(cfg.TokenTTL, MaxTokenTTL)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Audit == nil {
		cfg.Audit = func(AuditEvent) {}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	p := &Provider{cfg: cfg, store: cfg.Store, now: cfg.Now, log: cfg.Logger, grants: map[string]Grant{},
		hash: sha256Sum}
	p.clients.m = map[string]clientEntry{}
	p.remote.m = map[string]remoteEntry{}
	p.SetIssuer(cfg.Issuer)
	p.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_oauth_tokens_total", Help: "Token endpoint requests by grant type and outcome (issued or the OAuth error code).",
	}, []string{"grant_type", "outcome"})
	p.changes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_oauth_client_changes_total", Help: "Client registry changes by action.",
	}, []string{"action"})
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(p.tokens, p.changes)
	}
	return p, nil
}

// SetIssuer sets the issuer URL (no trailing slash); empty disables the
// OpenID endpoints. The server calls it once it knows its listen address.
func (p *Provider) SetIssuer(iss string) {
	for len(iss) > 0 && iss[len(iss)-1] == '/' {
		iss = iss[:len(iss)-1]
	}
	p.issuer.Store(&iss)
}

// Issuer returns the issuer URL, or "" when there is none.
func (p *Provider) Issuer() string { return *p.issuer.Load() }

// TokenEndpoint returns the token endpoint's URL.
func (p *Provider) TokenEndpoint() string { return p.Issuer() + "/oauth2/token" }

// Grant is one grant_type of the token endpoint, registered with
// [Provider.Register].
type Grant interface {
	// Type is the grant_type value.
	Type() string
	// Token answers a token request from an authenticated client that is
	// allowed this grant. An error that is a *[TokenError] goes to the
	// client as is; any other is a server error.
	Token(ctx context.Context, req *TokenRequest) (*TokenResponse, error)
}

// Register adds a grant; a second grant with one type replaces the first.
func (p *Provider) Register(g Grant) { p.grants[g.Type()] = g }

// GrantTypes lists the registered grant types, sorted.
func (p *Provider) GrantTypes() []string {
	out := make([]string, 0, len(p.grants))
	for t := range p.grants {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// mutexed helpers shared by the caches.
type clientCache struct {
	mu sync.Mutex
	m  map[string]clientEntry
}
