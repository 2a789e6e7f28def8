package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

type ctxKey int

const (
	clientKey ctxKey = iota
	// clientMetaKey holds the authenticated Client (its scope and
	// accept_empty), beside clientKey's id.
	clientMetaKey
)

// requestClient is the client that authenticated the request.
func requestClient(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientMetaKey).(Client)
	return c, ok
}

func withClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(context.WithValue(ctx, clientKey, c.ID), clientMetaKey, c)
}

// actor is who made a request, for the audit log: a client id or "admin".
func actor(ctx context.Context) string {
	if c, ok := ctx.Value(clientKey).(string); ok {
		return c
	}
	return "admin"
}

// checkAdmin compares a bearer token with the admin token in constant time.
func (s *Server) checkAdmin(token string) bool {
	if s.cfg.AdminToken == "" || token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], s.admin[:]) == 1
}

// requireAdmin lets a request through only with the admin bearer token.
func (s *Server) requireAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, token, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") || !s.checkAdmin(strings.TrimSpace(token)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey"`)
			encode(w, http.StatusUnauthorized, apiError{"unauthorized", "an admin bearer token is required"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// requireMetricsToken guards /metrics with Config.MetricsToken, if set.
func (s *Server) requireMetricsToken(h http.Handler) http.Handler {
	if s.cfg.MetricsToken == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(sum[:], s.metricsTok[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey-metrics"`)
			encode(w, http.StatusUnauthorized, apiError{"unauthorized", "the metrics bearer token is required"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// requireClient lets a request through only with a client's id and
// secret in HTTP Basic authentication, or a Bearer access token the
// client got for itself (client_credentials), and passes the id on in
// the request context.
func (s *Server) requireClient(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if scheme, tok, found := strings.Cut(r.Header.Get("Authorization"), " "); found && strings.EqualFold(scheme, "Bearer") {
			c, ok, err := s.oidc.AuthenticateBearer(r.Context(), strings.TrimSpace(tok))
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if !ok {
				w.Header().Set("WWW-Authenticate", `Bearer realm="latchkey", error="invalid_token"`)
				encode(w, http.StatusUnauthorized, apiError{"invalid_token", "the access token is invalid or expired"})
				return
			}
			h.ServeHTTP(w, r.WithContext(withClient(r.Context(), c)))
			return
		}
		id, secret, ok := r.BasicAuth()
		var c Client
		if ok {
			var err error
			c, ok, err = s.oidc.AuthenticateSecret(r.Context(), id, secret)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="latchkey"`)
			encode(w, http.StatusUnauthorized, apiError{"invalid_client", "client authentication failed"})
			return
		}
		h.ServeHTTP(w, r.WithContext(withClient(r.Context(), c)))
	})
}
