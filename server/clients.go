package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"latchkey/server/oidc"
)

// CreateClient registers an application with only a name, as the first
// version of the API did: it gets a secret (returned only here; the store
// keeps its SHA-256), no grant, and HTTP Basic at /api/v1/verify.
func (s *Server) CreateClient(ctx context.Context, name string) (id, secret string, err error) {
	c, secret, err := s.oidc.CreateClient(ctx, oidc.ClientMetadata{Name: &name})
	return c.ID, secret, err
}

// clientBody is the body of POST /api/v1/clients and PATCH
// /api/v1/clients/{id} (RFC 7591 names); absent fields keep their value
// in a PATCH.
type clientBody struct {
	Name       *string          `json:"name"`
	GrantTypes *[]string        `json:"grant_types"`
	AuthMethod *string          `json:"token_endpoint_auth_method"`
	JWKS       *json.RawMessage `json:"jwks"`
	JWKSURI    *string          `json:"jwks_uri"`
	// AcceptEmpty: see oidc.Client.AcceptEmpty.
	AcceptEmpty *bool `json:"accept_empty"`
	// AllowedGroups: see oidc.Client.AllowedGroups.
	AllowedGroups *[]string `json:"allowed_groups"`
}

func (b clientBody) metadata() oidc.ClientMetadata {
	return oidc.ClientMetadata{Name: b.Name, GrantTypes: b.GrantTypes, AuthMethod: b.AuthMethod, JWKS: b.JWKS, JWKSURI: b.JWKSURI,
		AcceptEmpty: b.AcceptEmpty, AllowedGroups: b.AllowedGroups}
}

// clientView is a client as the API shows it: never a secret, except the
// one just made (ClientSecret, shown once).
type clientView struct {
	ID           string          `json:"client_id"`
	ClientSecret string          `json:"client_secret,omitempty"`
	Name         string          `json:"name"`
	GrantTypes   []string        `json:"grant_types"`
	AuthMethod   string          `json:"token_endpoint_auth_method"`
	JWKS         json.RawMessage `json:"jwks,omitempty"`
	JWKSURI      string          `json:"jwks_uri,omitempty"`
	AcceptEmpty  bool            `json:"accept_empty"`
	// AllowedGroups is empty for an unrestricted client.
	AllowedGroups []string  `json:"allowed_groups"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated,omitzero"`
}

func viewClient(c Client, secret string) clientView {
	v := clientView{ID: c.ID, ClientSecret: secret, Name: c.Name, GrantTypes: c.GrantTypes, AuthMethod: c.AuthMethod,
		JWKSURI: c.JWKSURI, AcceptEmpty: c.AcceptEmpty, AllowedGroups: nonNilStrings(c.AllowedGroups), Created: c.Created, Updated: c.Updated}
	if c.JWKS != "" {
		v.JWKS = json.RawMessage(c.JWKS)
	}
	return v
}

// clientError is writeError with a 404 that names a client.
func (s *Server) clientError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrNotFound) {
		encode(w, http.StatusNotFound, apiError{"not_found", "no such client"})
		return
	}
	s.writeError(w, r, err)
}

func handleCreateClient(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[clientBody](w, r, s.cfg.MaxBody)
		if err != nil {
			s.clientError(w, r, err)
			return
		}
		if req.Name == nil {
			req.Name = new(string) // "name is required"
		}
		c, secret, err := s.oidc.CreateClient(r.Context(), req.metadata())
		if err != nil {
			s.clientError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusCreated, viewClient(c, secret))
	})
}

func handleListClients(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := s.oidc.Clients(r.Context())
		if err != nil {
			s.clientError(w, r, err)
			return
		}
		out := make([]clientView, 0, len(cs))
		for _, c := range cs {
			out = append(out, viewClient(c, ""))
		}
		encode(w, http.StatusOK, map[string]any{"clients": out})
	})
}

func handleGetClient(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.oidc.Client(r.Context(), r.PathValue("id"))
		if err != nil {
			s.clientError(w, r, err)
			return
		}
		encode(w, http.StatusOK, viewClient(c, ""))
	})
}

func handleUpdateClient(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[clientBody](w, r, s.cfg.MaxBody)
		if err != nil {
			s.clientError(w, r, err)
			return
		}
		c, secret, err := s.oidc.UpdateClient(r.Context(), r.PathValue("id"), req.metadata())
		if err != nil {
			s.clientError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, viewClient(c, secret))
	})
}

func handleDeleteClient(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.oidc.DeleteClient(r.Context(), r.PathValue("id")); err != nil {
			s.clientError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleRotateClientSecret(s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, err := s.oidc.RotateSecret(r.Context(), r.PathValue("id"))
		if err != nil {
			s.clientError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		encode(w, http.StatusOK, map[string]string{"client_id": r.PathValue("id"), "client_secret": secret})
	})
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
