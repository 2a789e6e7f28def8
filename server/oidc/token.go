package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// TokenError is an error response of the token endpoint (RFC 6749 §5.2).
type TokenError struct {
	Code        string // invalid_request, invalid_client, invalid_grant, ...
	Description string
	Status      int // 400 unless set
	// RetryAfter, when set, is sent as Retry-After (whole seconds).
	RetryAfter time.Duration
	// Extra are members beside error and error_description (a grant's
	// extension, as the email code grant's challenge and attempts_left).
	Extra map[string]any
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Description }

// Errorf returns a TokenError with code and a description; grants use it.
func Errorf(code, format string, args ...any) *TokenError {
	return &TokenError{Code: code, Description: fmt.Sprintf(format, args...)}
}

// TokenRequest is an authenticated token request, as a grant sees it.
type TokenRequest struct {
	Client Client
	// AuthMethod is how the client authenticated.
	AuthMethod string
	Form       url.Values
	// Provider mints the tokens.
	Provider *Provider
	// User and Note, set by the grant, go to the audit event: whom the
	// request is about, and the grant's word for its outcome.
	User, Note string
}

// TokenResponse is a successful token response (RFC 6749 §5.1), or a
// grant's first step: a Challenge and nothing else.
type TokenResponse struct {
	AccessToken string     `json:"access_token,omitempty"`
	TokenType   string     `json:"token_type,omitempty"`
	ExpiresIn   int        `json:"expires_in,omitempty"`
	IDToken     string     `json:"id_token,omitempty"`
	Scope       string     `json:"scope,omitempty"`
	Challenge   *Challenge `json:"challenge,omitempty"`
}

// Challenge is the answer of a grant that needs a second request (the
// email code grant): the reference to send back, and how long it lives.
type Challenge struct {
	Reference string `json:"reference"`
	ExpiresIn int    `json:"expires_in"`
}

// outcome is the metric and audit outcome of a successful response.
func (r *TokenResponse) outcome() string {
	if r != nil && r.Challenge != nil {
		return "challenge"
	}
	return "issued"
}

// ParseForm parses an application/x-www-form-urlencoded body. A
// parameter given twice is refused (RFC 6749 §3.2), as is one with an
// empty name.
func ParseForm(b []byte) (url.Values, error) {
	v, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, errors.New("the body is not valid form encoding")
	}
	for k, vs := range v {
		if k == "" {
			return nil, errors.New("the body has a parameter without a name")
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("parameter %q is repeated", k)
		}
	}
	return v, nil
}

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// HandleToken serves POST /oauth2/token.
func (p *Provider) HandleToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.Issuer() == "" {
			p.fail(w, r, ErrNoIssuer)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		resp, gt, err := p.token(r.Context(), w, r)
		var te *TokenError
		switch {
		case err == nil:
			p.tokens.WithLabelValues(gt, resp.outcome()).Inc()
			writeJSON(w, http.StatusOK, resp)
		case errors.As(err, &te):
			p.tokens.WithLabelValues(metricGrant(gt, p), te.Code).Inc()
			status := te.Status
			if status == 0 {
				status = http.StatusBadRequest
			}
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="latchkey"`)
			}
			if te.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int((te.RetryAfter+time.Second-1)/time.Second)))
			}
			body := map[string]any{}
			for k, v := range te.Extra {
				body[k] = v
			}
			body["error"], body["error_description"] = te.Code, te.Description
			writeJSON(w, status, body)
		default:
			p.tokens.WithLabelValues(metricGrant(gt, p), "server_error").Inc()
			p.fail(w, r, err)
		}
	})
}

// metricGrant keeps the grant label to the registered types.
func metricGrant(gt string, p *Provider) string {
	if _, ok := p.grants[gt]; ok {
		return gt
	}
	return "other"
}

func (p *Provider) token(ctx context.Context, w http.ResponseWriter, r *http.Request) (*TokenResponse, string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, "", Errorf("invalid_request", "Content-Type must be application/x-www-form-urlencoded")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.cfg.MaxBody))
	if err != nil {
		return nil, "", Errorf("invalid_request", "the body is unreadable or larger than %d bytes", p.cfg.MaxBody)
	}
	form, err := ParseForm(b)
	if err != nil {
		return nil, "", Errorf("invalid_request", "%v", err)
	}
	gt := form.Get("grant_type")
	c, method, err := p.authenticate(ctx, r, form, p.TokenEndpoint())
	if err != nil {
		p.cfg.Audit(AuditEvent{Action: "token", Client: form.Get("client_id"), Outcome: "invalid_client"})
		return nil, gt, err
	}
	if gt == "" {
		return nil, gt, Errorf("invalid_request", "grant_type is required")
	}
	g, ok := p.grants[gt]
	if !ok {
		return nil, gt, Errorf("unsupported_grant_type", "grant_type %q is not supported", gt)
	}
	if !slices.Contains(c.GrantTypes, gt) {
		p.cfg.Audit(AuditEvent{Action: "token", Client: c.ID, Outcome: "unauthorized_client"})
		return nil, gt, Errorf("unauthorized_client", "the client may not use grant_type %q", gt)
	}
	req := &TokenRequest{Client: c, AuthMethod: method, Form: form, Provider: p}
	resp, err := g.Token(ctx, req)
	outcome := resp.outcome()
	var te *TokenError
	if errors.As(err, &te) {
		outcome = te.Code
	} else if err != nil {
		outcome = "server_error"
	}
	if req.Note != "" {
		outcome += " " + req.Note
	}
	p.cfg.Audit(AuditEvent{Action: "token", Client: c.ID, User: req.User, Outcome: gt + " " + outcome})
	return resp, gt, err
}

func invalidClient(desc string) *TokenError {
	return &TokenError{Code: "invalid_client", Description: desc, Status: http.StatusUnauthorized}
}

// AuthenticateClient authenticates a request to another endpoint of the
// provider (CIBA's bc-authorize) as the token endpoint does. A client
// assertion's aud may be the issuer, the token endpoint or endpoint
// (CIBA Core §7.1). Failures are *TokenError values (invalid_client).
func (p *Provider) AuthenticateClient(ctx context.Context, r *http.Request, form url.Values, endpoint string) (Client, string, error) {
	return p.authenticate(ctx, r, form, p.TokenEndpoint(), endpoint)
}

// authenticate finds and checks the one client authentication a request
// carries: HTTP Basic, client_secret in the form, or a client assertion
// whose aud is the issuer or one of endpoints.
func (p *Provider) authenticate(ctx context.Context, r *http.Request, form url.Values, endpoints ...string) (Client, string, error) {
	basicID, basicSecret, hasBasic := r.BasicAuth()
	formID := form.Get("client_id")
	hasPost := form.Has("client_secret")
	hasJWT := form.Has("client_assertion") || form.Has("client_assertion_type")
	n := 0
	for _, b := range []bool{hasBasic, hasPost, hasJWT} {
		if b {
			n++
		}
	}
	switch {
	case n == 0:
		return Client{}, "", invalidClient("client authentication is required")
	case n > 1:
		return Client{}, "", Errorf("invalid_request", "use exactly one client authentication method")
	case r.Header.Get("Authorization") != "" && !hasBasic:
		return Client{}, "", invalidClient("unsupported Authorization scheme")
	}
	switch {
	case hasBasic:
		// RFC 6749 §2.3.1: id and secret are form-encoded inside Basic.
		id, err1 := url.QueryUnescape(basicID)
		secret, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil || (formID != "" && formID != id) {
			return Client{}, "", invalidClient("client authentication failed")
		}
		c, ok, err := p.AuthenticateSecret(ctx, id, secret)
		if err != nil {
			return Client{}, "", err
		}
		if !ok {
			return Client{}, "", invalidClient("client authentication failed")
		}
		return c, AuthSecretBasic, nil
	case hasPost:
		c, ok, err := p.AuthenticateSecret(ctx, formID, form.Get("client_secret"))
		if err != nil {
			return Client{}, "", err
		}
		if !ok {
			return Client{}, "", invalidClient("client authentication failed")
		}
		return c, AuthSecretPost, nil
	default:
		if form.Get("client_assertion_type") != assertionType {
			return Client{}, "", invalidClient("client_assertion_type must be " + assertionType)
		}
		c, err := p.verifyAssertion(ctx, form.Get("client_assertion"), formID, endpoints...)
		if err != nil {
			return Client{}, "", err
		}
		return c, AuthPrivateKeyJWT, nil
	}
}
