// Package server is Latchkey's enrollment and verification server as a
// library: `latchkey serve` runs it with [Run], the desktop app runs it
// on a loopback port with [StartLocal], and other embedders build one
// with [New].
//
// Helpdesks (with the admin bearer token) create TOTP credentials for
// users, show them as QR codes and confirm each with the user's first
// code; applications (OAuth clients with HTTP Basic) verify codes:
//
//	POST   /api/v1/clients                                {"name", "grant_types", "token_endpoint_auth_method", "jwks"|"jwks_uri"}
//	GET    /api/v1/clients, GET|PATCH|DELETE /api/v1/clients/{id}, POST /api/v1/clients/{id}/secret
//	POST   /api/v1/users/{user}/credentials               -> {"id", "secret", "otpauth_uri", "qr_png", "expires"}
//	GET    /api/v1/users/{user}/credentials               (never secrets)
//	GET    /api/v1/users/{user}/credentials/{id}/qr.png   while unverified
//	POST   /api/v1/users/{user}/credentials/{id}/verify   {"code"} -> {"verified": true}
//	PATCH  /api/v1/users/{user}/credentials/{id}          {"name"}
//	DELETE /api/v1/users/{user}/credentials/{id}
//	GET    /api/v1/audit?user=U&limit=N
//	POST   /api/v1/verify                                 {"user", "code"} (client Basic auth)
//	GET    /.well-known/openid-configuration, /.well-known/jwks.json
//	POST   /oauth2/token                                  (package oidc; grants under oidc/grants:
//	                                                      client_credentials, email-otp with smtp_host, CIBA)
//	POST   /oauth2/bc-authorize                           CIBA (oidc/grants/ciba); pairing in pairing.go:
//	POST   /api/v1/users/{user}/credentials/{id}/pairing-link, GET /api/v1/users/{user}/devices,
//	DELETE /api/v1/users/{user}/devices/{device}, GET|PUT /api/v1/clients/{id}/ciba {"ciba_require_otp"}
//	POST   /api/v1/pair/info, /api/v1/pair                {"token", "code", "public_key"}
//	GET    /api/v1/device/requests?wait=S[&seen=ID,...], POST /api/v1/device/requests/{id}, DELETE /api/v1/device (device-signed)
//	GET    /healthz, /metrics
//
// Running it (`latchkey serve`, or [Run] from an embedder):
//
//	latchkey serve [--addr 127.0.0.1:8080] [--db PATH|postgres://...] [--key-file F] [--config F]
//	               [--tls-cert F --tls-key F] [--window 0..2] [--max-failures 1..100] [--issuer NAME]
//	               [--public-url https://host]
//	latchkey serve rotate-key [--db ...] [--key-file F] [--new-key-file F]
//
// The default database is server.db (SQLite, WAL) in the data directory:
// $LATCHKEY_HOME/server, else $XDG_DATA_HOME/latchkey, else
// ~/.local/share/latchkey. LATCHKEY_ADMIN_TOKEN sets the admin token;
// without it one is generated into admin-token (0600) beside the
// database and its path logged. The master key comes from --key-file,
// else LATCHKEY_MASTER_KEY (base64 of 32 bytes), else master.key (0600)
// beside the database, created with a warning on first start. Logs are
// JSON on standard error and never hold a secret, a code or a token.
// SIGTERM shuts down gracefully.
//
// A code is accepted at most once per credential: the last accepted time
// step is stored and advanced by one conditional UPDATE, so of concurrent
// submissions exactly one wins, also across instances on one PostgreSQL.
// The enrollment code's step is burned the same way. A code's check is
// recorded inside a transaction holding the user's throttling row, which
// refuses it when the user is locked, so at most MaxFailures wrong codes
// are answered and counted before a lock, however many arrive at once;
// the back-off doubles per lock, up to LockMax (see
// docs/server.md). Secrets are sealed with
// AES-256-GCM (see [Keyring]) and shown once, at creation.
package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"latchkey/server/oidc"
	"latchkey/server/oidc/grants/ciba"
	"latchkey/server/oidc/grants/clientcredentials"
	"latchkey/server/oidc/grants/emailotp"
)

// Errors of the service layer, mapped to HTTP statuses in one place
// (writeError).
var (
	ErrInvalidCode     = errors.New("invalid code")
	ErrInvalidInput    = errors.New("invalid input")
	ErrAlreadyVerified = errors.New("credential already verified")
	ErrLocked          = errors.New("user locked")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

// Server is the enrollment and verification service. It is an
// http.Handler; its methods are the operations behind the handlers, for
// embedders such as the helpdesk page and the desktop app.
type Server struct {
	cfg        Config
	store      Store
	keys       *Keyring
	log        *slog.Logger
	now        func() time.Time
	metrics    *metrics
	audit      *auditor
	qr         *qrRenderer
	gens       *genCache // verified credentials' generators
	handler    http.Handler
	admin      [32]byte // SHA-256 of the admin token
	metricsTok [32]byte // SHA-256 of the metrics token
	// oidc is the OpenID provider: clients, signing keys, token endpoint.
	oidc *oidc.Provider
	// ciba is the CIBA grant, bc-authorize and the device API (pairing.go).
	ciba *ciba.Service
}

// New returns a server for cfg. Call Close to flush the audit log.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		store:   cfg.Store,
		keys:    cfg.Keyring,
		log:     cfg.Logger,
		now:     cfg.Now,
		metrics: newMetrics(cfg.Registry),
		qr:      newQRRenderer(),
		gens:    newGenCache(),
	}
	s.admin = sha256.Sum256([]byte(cfg.AdminToken))
	s.metricsTok = sha256.Sum256([]byte(cfg.MetricsToken))
	s.audit = newAuditor(cfg.Store, cfg.Logger)
	s.oidc, err = oidc.New(oidc.Config{Store: cfg.Store, Sealer: sealer{cfg.Keyring}, Issuer: cfg.PublicURL,
		SigningAlg: cfg.SigningAlg, TokenTTL: cfg.TokenTTL, Now: cfg.Now, Logger: cfg.Logger, Registry: cfg.Registry,
		MaxBody: cfg.MaxBody, Audit: func(ev oidc.AuditEvent) {
			s.audit.add(Event{Time: s.now(), User: ev.User, Client: ev.Client, Action: ev.Action, Outcome: ev.Outcome})
		}})
	if err != nil {
		s.audit.close()
		return nil, err
	}
	s.oidc.Register(clientcredentials.New())
	if cfg.Mailer != nil {
		g, err := emailotp.New(emailotp.Config{Settings: cfg.EmailOTP, Store: cfg.Store, Mailer: cfg.Mailer,
			Key: cfg.Keyring.derive("email-otp"), Now: cfg.Now, Registry: cfg.Registry})
		if err != nil {
			s.audit.close()
			return nil, err
		}
		s.oidc.Register(g)
	}
	if s.ciba, err = s.newCIBA(); err != nil {
		s.audit.close()
		return nil, err
	}
	s.oidc.Register(s.ciba)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close flushes pending audit events. It does not close the Store.
func (s *Server) Close() error { return s.audit.close() }

// Provider returns the server's OpenID provider.
func (s *Server) Provider() *oidc.Provider { return s.oidc }

// Store returns the server's store.
func (s *Server) Store() Store { return s.store }

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	return hex.EncodeToString(b)
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
