package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes returns the server's handler: every route of the API is here.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	s.addRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" && isAPIPath(r.URL.Path) {
			// No route: the mux's own 404 or 405, in the API's JSON.
			w = &apiMiss{ResponseWriter: w}
		}
		mux.ServeHTTP(w, r)
	})
}

// isAPIPath reports whether path belongs to the JSON API or the OAuth
// endpoints, whose clients read errors as JSON.
func isAPIPath(path string) bool {
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/oauth2/")
}

// apiMiss turns the mux's plain-text "404 page not found" and "405 method
// not allowed" into the API's JSON error (the Allow header stays).
type apiMiss struct {
	http.ResponseWriter
	wrote bool
}

func (w *apiMiss) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	e := apiError{"not_found", "no such endpoint"}
	if code == http.StatusMethodNotAllowed {
		e = apiError{"method_not_allowed", "the endpoint does not take this method"}
	}
	encode(w.ResponseWriter, code, e)
}

// Write drops the mux's text: WriteHeader wrote the JSON.
func (w *apiMiss) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusNotFound)
	}
	return len(b), nil
}

// addRoutes registers the API on mux. Later endpoint groups (OAuth
// token, CIBA, the helpdesk page) add their lines here, wrapped the same
// way: s.route for metrics, s.requireAdmin or s.requireClient for auth.
func (s *Server) addRoutes(mux *http.ServeMux) {
	route := func(pattern string, h http.Handler) {
		mux.Handle(pattern, s.metrics.instrument(pattern, s.timeout(h)))
	}

	route("GET /healthz", handleHealthz(s))
	mux.Handle("GET /metrics", s.requireMetricsToken(promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{})))

	// Admin and helpdesk.
	route("POST /api/v1/clients", s.requireAdmin(handleCreateClient(s)))
	route("GET /api/v1/clients", s.requireAdmin(handleListClients(s)))
	route("GET /api/v1/clients/{id}", s.requireAdmin(handleGetClient(s)))
	route("PATCH /api/v1/clients/{id}", s.requireAdmin(handleUpdateClient(s)))
	route("DELETE /api/v1/clients/{id}", s.requireAdmin(handleDeleteClient(s)))
	route("POST /api/v1/clients/{id}/secret", s.requireAdmin(handleRotateClientSecret(s)))
	route("POST /api/v1/users/{user}/credentials", s.requireAdmin(handleCreateCredential(s)))
	route("GET /api/v1/users/{user}/credentials", s.requireAdmin(handleListCredentials(s)))
	route("GET /api/v1/users/{user}/credentials/{id}/qr.png", s.requireAdmin(handleQR(s)))
	route("POST /api/v1/users/{user}/credentials/{id}/verify", s.requireAdmin(handleConfirm(s)))
	route("PATCH /api/v1/users/{user}/credentials/{id}", s.requireAdmin(handleRename(s)))
	route("DELETE /api/v1/users/{user}/credentials/{id}", s.requireAdmin(handleDelete(s)))
	route("GET /api/v1/audit", s.requireAdmin(handleAudit(s)))
	// Administration (admin.go): unlock, groups, recovery codes.
	route("POST /api/v1/users/{user}/unlock", s.requireAdmin(handleUnlock(s)))
	route("GET /api/v1/users/{user}/groups", s.requireAdmin(handleGetGroups(s)))
	route("PUT /api/v1/users/{user}/groups", s.requireAdmin(handleSetGroups(s)))
	route("POST /api/v1/users/{user}/recovery-codes", s.requireAdmin(handleNewRecoveryCodes(s)))

	// Applications: HTTP Basic, or a Bearer access token from the
	// client_credentials grant.
	route("POST /api/v1/verify", s.requireClient(handleVerify(s)))

	// The OpenID provider (server/oidc; each grant under oidc/grants).
	// Without an issuer these answer 404.
	route("GET /.well-known/openid-configuration", s.oidc.HandleDiscovery())
	route("GET /.well-known/jwks.json", s.oidc.HandleJWKS())
	route("POST /oauth2/token", s.oidc.HandleToken())

	// CIBA (oidc/grants/ciba): the backchannel endpoint, pairing
	// (pairing.go), and the device API, authenticated by the device's
	// signature on each request.
	route("POST /oauth2/bc-authorize", s.ciba.HandleAuthorize())
	route("POST /api/v1/users/{user}/credentials/{id}/pairing-link", s.requireAdmin(handleCreatePairingLink(s)))
	route("GET /api/v1/users/{user}/devices", s.requireAdmin(handleListDevices(s)))
	route("DELETE /api/v1/users/{user}/devices/{device}", s.requireAdmin(handleRevokeDevice(s)))
	route("GET /api/v1/clients/{id}/ciba", s.requireAdmin(handleCIBAClient(s)))
	route("PUT /api/v1/clients/{id}/ciba", s.requireAdmin(handleCIBAClient(s)))
	route("GET /pair", handlePairPage(s))
	route("POST /api/v1/pair/info", handlePairInfo(s))
	route("POST /api/v1/pair", handlePair(s))
	route("GET /api/v1/device/requests", s.ciba.HandleRequests())
	route("POST /api/v1/device/requests/{id}", s.ciba.HandleAnswer())
	route("DELETE /api/v1/device", s.ciba.HandleUnpair())

	// Enrollment links: the token in the body is the authorization (links.go).
	route("GET /enroll", handleLinkPage(s))
	route("POST /api/v1/enroll", handleRedeemLink(s))
	route("POST /api/v1/enroll/confirm", handleConfirmLink(s))

	// The helpdesk page: session cookie and CSRF token (helpdesk.go).
	hd := newHelpdesk(s)
	route("GET /helpdesk", handleHelpdeskHome(hd))
	route("POST /helpdesk/login", handleHelpdeskLogin(hd))
	route("POST /helpdesk/logout", handleHelpdeskLogout(hd))
	route("POST /helpdesk/enroll", handleHelpdeskEnroll(hd))
	route("POST /helpdesk/confirm", handleHelpdeskConfirm(hd))
	route("POST /helpdesk/rename", handleHelpdeskRename(hd))
	route("GET /helpdesk/revoke", handleHelpdeskRevokeAsk(hd))
	route("POST /helpdesk/revoke", handleHelpdeskRevoke(hd))
	route("GET /helpdesk/status", handleHelpdeskStatus(hd))
	route("POST /helpdesk/unlock", handleHelpdeskUnlock(hd))                // helpdesk_admin.go
	route("POST /helpdesk/recovery-codes", handleHelpdeskRecoveryCodes(hd)) // helpdesk_admin.go
	route("POST /helpdesk/pairing-link", handleHelpdeskPairingLink(hd))     // helpdesk_pairing.go
	route("GET /helpdesk/device-revoke", handleHelpdeskDeviceRevokeAsk(hd)) // helpdesk_pairing.go
	route("POST /helpdesk/device-revoke", handleHelpdeskDeviceRevoke(hd))   // helpdesk_pairing.go
	route("GET /helpdesk/static/", handleHelpdeskStatic(hd))
	route("GET /helpdesk/clients", handleHelpdeskClients(hd)) // admin-token sessions only
	// Only / (other unknown paths stay 404): points to /helpdesk and the docs.
	route("GET /{$}", handleIndex(hd))
}

// timeout bounds the work of one request (database calls take the
// request's context), so that a stalled database cannot pile up
// handlers; the http.Server's own timeouts bound the connection.
func (s *Server) timeout(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
