package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keyAlgs are the algorithms a signing key may have.
var keyAlgs = map[string]jose.SignatureAlgorithm{"RS256": jose.RS256, "ES256": jose.ES256}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// sealAAD binds a sealed signing key to its kid.
func sealAAD(kid string) string { return "latchkey oidc signing key " + kid }

// NewSigningKey generates a key for alg (RS256: RSA 2048; ES256: P-256),
// with kid = its RFC 7638 thumbprint (SHA-256, base64url), sealed with sl.
func NewSigningKey(alg string, sl Sealer, now time.Time) (SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return SigningKey{}, fmt.Errorf("oidc: signing algorithm %q: want RS256 or ES256", alg)
	}
	if err != nil {
		return SigningKey{}, fmt.Errorf("oidc: generate key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: priv, Algorithm: alg, Use: "sig"}
	pub := jwk.Public()
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return SigningKey{}, fmt.Errorf("oidc: thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	raw, err := json.Marshal(jwk)
	if err != nil {
		return SigningKey{}, fmt.Errorf("oidc: encode key: %w", err)
	}
	sealed, err := sl.Seal(raw, sealAAD(jwk.KeyID))
	clear(raw)
	if err != nil {
		return SigningKey{}, fmt.Errorf("oidc: seal key: %w", err)
	}
	return SigningKey{KID: jwk.KeyID, Alg: alg, Sealed: sealed, Created: now}, nil
}

// RotateSigningKey adds a new signing key of alg; the keys that signed
// until now stay in the JWKS until every token they signed has expired
// (MaxTokenTTL, plus KeyReload for instances that have not reread the
// keys yet, plus a minute), then leave it.
func RotateSigningKey(ctx context.Context, st Store, sl Sealer, alg string, now time.Time) (SigningKey, error) {
	k, err := NewSigningKey(alg, sl, now)
	if err != nil {
		return SigningKey{}, err
	}
	if _, err := st.AddSigningKey(ctx, k, now.Add(RetireAfter)); err != nil {
		return SigningKey{}, err
	}
	return k, nil
}

// RetireAfter is how long a rotated-out key stays published.
const RetireAfter = MaxTokenTTL + KeyReload + time.Minute

// ResealSigningKeys re-seals every signing key with to after opening it
// with from (master key rotation). It changes nothing on an error.
func ResealSigningKeys(ctx context.Context, st Store, from, to Sealer) (int, error) {
	return st.ResealSigningKeys(ctx, func(kid string, sealed []byte) ([]byte, error) {
		raw, err := from.Open(sealed, sealAAD(kid))
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", kid, err)
		}
		defer clear(raw)
		return to.Seal(raw, sealAAD(kid))
	})
}

// loadedKey is an opened signing key.
type loadedKey struct {
	priv   jose.JSONWebKey
	pub    jose.JSONWebKey
	signer jose.Signer
	// atSigner signs access tokens (typ at+jwt, RFC 9068).
	atSigner jose.Signer
	created  time.Time
	retires  time.Time
}

type keyCache struct {
	mu     sync.Mutex
	keys   []*loadedKey // newest first
	byKID  map[string]*loadedKey
	loaded time.Time
	tried  time.Time // last reload for an unknown kid
}

// EnsureKeys generates the first signing key if there is none, and loads
// the keys. `latchkey serve` calls it at start; otherwise the first
// request that needs a key does.
func (p *Provider) EnsureKeys(ctx context.Context) error {
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	return p.reloadLocked(ctx, true)
}

func (p *Provider) reloadLocked(ctx context.Context, ensure bool) error {
	stored, err := p.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	if ensure && !hasActive(stored, p.now()) {
		k, err := NewSigningKey(p.cfg.SigningAlg, p.cfg.Sealer, p.now())
		if err != nil {
			return err
		}
		added, err := p.store.AddSigningKey(ctx, k, time.Time{})
		if err != nil {
			return err
		}
		if added {
			p.log.Info("generated the OpenID signing key", "kid", k.KID, "alg", k.Alg)
		}
		if stored, err = p.store.SigningKeys(ctx); err != nil {
			return err
		}
	}
	byKID := make(map[string]*loadedKey, len(stored))
	keys := make([]*loadedKey, 0, len(stored))
	for _, sk := range stored {
		lk, ok := p.keys.byKID[sk.KID]
		if !ok {
			if lk, err = p.openKey(sk); err != nil {
				return err
			}
		}
		lk.retires = sk.Retires
		byKID[sk.KID] = lk
		keys = append(keys, lk)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].created.After(keys[j].created) })
	p.keys.keys, p.keys.byKID, p.keys.loaded = keys, byKID, p.now()
	return nil
}

func hasActive(ks []SigningKey, now time.Time) bool {
	for _, k := range ks {
		if k.Retires.IsZero() {
			return true
		}
	}
	return false
}

func (p *Provider) openKey(sk SigningKey) (*loadedKey, error) {
	raw, err := p.cfg.Sealer.Open(sk.Sealed, sealAAD(sk.KID))
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key %s: %w", sk.KID, err)
	}
	defer clear(raw)
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(raw, &jwk); err != nil {
		return nil, fmt.Errorf("oidc: signing key %s: %w", sk.KID, err)
	}
	if jwk.KeyID != sk.KID || jwk.IsPublic() {
		return nil, fmt.Errorf("oidc: signing key %s: stored key does not match its row", sk.KID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(sk.Alg), Key: jwk}, nil)
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key %s: %w", sk.KID, err)
	}
	at, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(sk.Alg), Key: jwk},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, fmt.Errorf("oidc: signing key %s: %w", sk.KID, err)
	}
	return &loadedKey{priv: jwk, pub: jwk.Public(), signer: signer, atSigner: at, created: sk.Created}, nil
}

// current returns the loaded keys, rereading them every KeyReload (and
// generating the first on first use).
func (p *Provider) current(ctx context.Context) ([]*loadedKey, error) {
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	if p.keys.keys == nil || p.now().Sub(p.keys.loaded) >= KeyReload || p.now().Before(p.keys.loaded) {
		if err := p.reloadLocked(ctx, p.keys.keys == nil); err != nil {
			return nil, err
		}
	}
	return p.keys.keys, nil
}

// activeKey returns the key that signs: the newest one not retiring.
func (p *Provider) activeKey(ctx context.Context) (*loadedKey, error) {
	keys, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.retires.IsZero() {
			return k, nil
		}
	}
	// Every key was rotated out by another instance's reload race: make one.
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	if err := p.reloadLocked(ctx, true); err != nil {
		return nil, err
	}
	for _, k := range p.keys.keys {
		if k.retires.IsZero() {
			return k, nil
		}
	}
	return nil, fmt.Errorf("oidc: no signing key")
}

// publicKey returns the published key with kid, rereading the keys once a
// second at most when kid is unknown (a key another instance just made).
func (p *Provider) publicKey(ctx context.Context, kid string) (*loadedKey, error) {
	keys, err := p.current(ctx)
	if err != nil {
		return nil, err
	}
	now := p.now()
	find := func(keys []*loadedKey) *loadedKey {
		for _, k := range keys {
			if k.pub.KeyID == kid && (k.retires.IsZero() || now.Before(k.retires)) {
				return k
			}
		}
		return nil
	}
	if k := find(keys); k != nil {
		return k, nil
	}
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	if now.Sub(p.keys.tried) < time.Second {
		return nil, nil
	}
	p.keys.tried = now
	if err := p.reloadLocked(ctx, false); err != nil {
		return nil, err
	}
	return find(p.keys.keys), nil
}

// JWKS returns the published keys: public members only, with kid, use
// and alg; keys retired before now are left out.
func (p *Provider) JWKS(ctx context.Context) (jose.JSONWebKeySet, error) {
	keys, err := p.current(ctx)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	now := p.now()
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	for _, k := range keys {
		if !k.retires.IsZero() && !now.Before(k.retires) {
			continue
		}
		set.Keys = append(set.Keys, k.pub)
	}
	return set, nil
}
