package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
)

// Metadata is the discovery document (OpenID Connect Discovery 1.0 §3).
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	IDTokenSigningAlgs                []string `json:"id_token_signing_alg_values_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`

	// CIBA (Client-Initiated Backchannel Authentication Core 1.0 §4),
	// present when the CIBA grant is registered.
	BackchannelAuthenticationEndpoint      string   `json:"backchannel_authentication_endpoint,omitempty"`
	BackchannelTokenDeliveryModesSupported []string `json:"backchannel_token_delivery_modes_supported,omitempty"`
	BackchannelUserCodeParameterSupported  *bool    `json:"backchannel_user_code_parameter_supported,omitempty"`
}

// GrantCIBA is the CIBA grant type (server/oidc/grants/ciba).
const GrantCIBA = "urn:openid:params:grant-type:ciba"

// BackchannelEndpoint returns CIBA's backchannel authentication endpoint.
func (p *Provider) BackchannelEndpoint() string { return p.Issuer() + "/oauth2/bc-authorize" }

// assertionAlgs are the algorithms a client assertion may be signed with.
var assertionAlgs = []string{"RS256", "PS256", "ES256", "EdDSA"}

// Metadata returns the discovery document, or ErrNoIssuer.
func (p *Provider) Metadata(ctx context.Context) (Metadata, error) {
	iss := p.Issuer()
	if iss == "" {
		return Metadata{}, ErrNoIssuer
	}
	keys, err := p.current(ctx)
	if err != nil {
		return Metadata{}, err
	}
	// RS256 is always listed (Discovery requires it); then the algorithms
	// of the keys that sign now or did recently.
	algs := map[string]bool{"RS256": true}
	for _, k := range keys {
		algs[k.pub.Algorithm] = true
	}
	idAlgs := make([]string, 0, len(algs))
	for a := range algs {
		idAlgs = append(idAlgs, a)
	}
	sort.Strings(idAlgs)
	md := Metadata{
		Issuer:                            iss,
		TokenEndpoint:                     iss + "/oauth2/token",
		JWKSURI:                           iss + "/.well-known/jwks.json",
		GrantTypesSupported:               p.GrantTypes(),
		TokenEndpointAuthMethodsSupported: []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT},
		TokenEndpointAuthSigningAlgs:      assertionAlgs,
		IDTokenSigningAlgs:                idAlgs,
		SubjectTypesSupported:             []string{"public"},
		ResponseTypesSupported:            []string{"id_token"},
		ScopesSupported:                   []string{"openid"},
		ClaimsSupported:                   []string{"iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "amr", "jti", "email", "email_verified"},
	}
	if _, ok := p.grants[GrantCIBA]; ok {
		no := false
		md.BackchannelAuthenticationEndpoint = p.BackchannelEndpoint()
		md.BackchannelTokenDeliveryModesSupported = []string{"poll"}
		md.BackchannelUserCodeParameterSupported = &no
	}
	return md, nil
}

// HandleDiscovery serves GET /.well-known/openid-configuration.
func (p *Provider) HandleDiscovery() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		md, err := p.Metadata(r.Context())
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		writeJSON(w, http.StatusOK, md)
	})
}

// HandleJWKS serves GET /.well-known/jwks.json. The cache lifetime is
// short so that relying parties see a new key soon after a rotation
// (go-oidc also refetches on a kid it does not know).
func (p *Provider) HandleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.Issuer() == "" {
			p.fail(w, r, ErrNoIssuer)
			return
		}
		set, err := p.JWKS(r.Context())
		if err != nil {
			p.fail(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=60")
		writeJSON(w, http.StatusOK, set)
	})
}

// fail answers an error that is no OAuth error: 404 without an issuer,
// Ended's answers for a request that ended first, else a logged 500.
func (p *Provider) fail(w http.ResponseWriter, r *http.Request, err error) {
	if err == ErrNoIssuer {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found",
			"error_description": "this server has no OpenID issuer configured (set public_url)"})
		return
	}
	if Ended(w, r, p.log, err) {
		return
	}
	p.log.ErrorContext(r.Context(), "oidc request failed", "path", r.URL.Path, "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "internal error"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// StatusClientClosed is the status recorded (in metrics and the access
// log) for a request whose client went away first.
const StatusClientClosed = 499

// Ended answers a request that failed because its context ended before
// the answer, and reports whether err was that: 499 (the status proxies
// log for "client closed request"; nothing failed, nobody reads it) when
// the client went away, 503 temporarily_unavailable with Retry-After on a
// deadline, as the server's own API answers them.
func Ended(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) bool {
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		log.InfoContext(r.Context(), "client closed the request", "method", r.Method, "path", r.URL.Path)
		w.WriteHeader(StatusClientClosed)
	case errors.Is(err, context.DeadlineExceeded):
		log.ErrorContext(r.Context(), "request timed out", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": "the server is busy; try again"})
	default:
		return false
	}
	return true
}
