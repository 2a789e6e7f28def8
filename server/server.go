// Package server is Latchkey's enrollment and verification server as a
// library: `latchkey serve` runs it with [Run], and the desktop app can
// embed it with [New].
//
// Helpdesks (with the admin bearer token) create TOTP credentials for
// users, show them as QR codes and confirm each with the user's first
// code; applications (OAuth clients with HTTP Basic) verify codes:
//
//	POST   /api/v1/clients                                {"name"} -> {"client_id", "client_secret"}
//	POST   /api/v1/users/{user}/credentials               -> {"id", "secret", "otpauth_uri", "qr_png", "expires"}
//	GET    /api/v1/users/{user}/credentials               (never secrets)
//	GET    /api/v1/users/{user}/credentials/{id}/qr.png   while unverified
//	POST   /api/v1/users/{user}/credentials/{id}/verify   {"code"} -> {"verified": true}
//	PATCH  /api/v1/users/{user}/credentials/{id}          {"name"}
//	DELETE /api/v1/users/{user}/credentials/{id}
//	GET    /api/v1/audit?user=U&limit=N
//	POST   /api/v1/verify                                 {"user", "code"} (client Basic auth)
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
// The enrollment code's step is burned the same way. Consecutive failures
// lock the user with a doubling back-off. Secrets are sealed with
// AES-256-GCM (see [Keyring]) and shown once, at creation.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// Defaults for [Config] fields left zero.
const (
	DefaultWindow      = 1
	DefaultMaxFailures = 10
	// MaxFailuresLimit is the most consecutive failures ever allowed
	// before a lock (NIST SP 800-63B).
	MaxFailuresLimit = 100
	DefaultLockBase  = 30 * time.Second
	DefaultLockMax   = 24 * time.Hour
	DefaultEnrollTTL = 15 * time.Minute
	DefaultIssuer    = "Latchkey"
	DefaultMaxBody   = 64 << 10
	// DefaultRequestTimeout bounds one request's work.
	DefaultRequestTimeout = 10 * time.Second
)

// Errors of the service layer, mapped to HTTP statuses in one place
// (writeError).
var (
	ErrInvalidCode     = errors.New("invalid code")
	ErrInvalidInput    = errors.New("invalid input")
	ErrAlreadyVerified = errors.New("credential already verified")
	ErrLocked          = errors.New("user locked")
)

// Config holds a server's dependencies and settings. Store and Keyring
// are required; every other zero field takes the default named beside it.
type Config struct {
	Store   Store
	Keyring *Keyring
	// AdminToken is the bearer token of admin and helpdesk calls. Empty
	// disables the admin API.
	AdminToken string
	// Logger receives JSON logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Window is the number of steps accepted either side of the current
	// one, 0..2. Set WindowSet to use 0; otherwise zero means 1.
	Window    int
	WindowSet bool
	// MaxFailures is the number of consecutive failures that locks a user:
	// 1..100, default 10.
	MaxFailures int
	// LockBase is the first lock's length (default 30 s); each further
	// failure while at the limit doubles it, up to LockMax (default 24 h).
	LockBase, LockMax time.Duration
	// EnrollTTL is how long an unverified credential lives (15 min).
	EnrollTTL time.Duration
	// Issuer is the otpauth issuer when a request names none ("Latchkey").
	Issuer string
	// MaxBody limits request bodies in bytes (64 KiB); larger gets 413.
	MaxBody int64
	// RequestTimeout bounds the work of one request (10 s).
	RequestTimeout time.Duration
	// Registry receives the Prometheus metrics and is served at
	// /metrics; nil means a private registry.
	Registry *prometheus.Registry
	// HelpdeskPassword, when set, also signs in to the /helpdesk page
	// (besides the admin token).
	HelpdeskPassword string
	// MetricsToken, when set, is the bearer token /metrics requires
	// (Prometheus's authorization setting); empty leaves /metrics open.
	MetricsToken string
	// PublicURL is the server's URL as users reach it, for a server
	// behind a proxy that terminates TLS ("https://auth.example.com"; a
	// scheme, a host and maybe a port, at the root): enrollment links are
	// built on it, and an https one makes the helpdesk's cookies Secure.
	// Empty means the URL each request reached.
	PublicURL string
}

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil || c.Keyring == nil {
		return c, errors.New("server: config needs a Store and a Keyring")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if !c.WindowSet && c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Window < 0 || c.Window > otp.MaxWindow {
		return c, fmt.Errorf("server: window %d outside 0..%d", c.Window, otp.MaxWindow)
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = DefaultMaxFailures
	}
	if c.MaxFailures < 1 || c.MaxFailures > MaxFailuresLimit {
		return c, fmt.Errorf("server: max failures %d outside 1..%d", c.MaxFailures, MaxFailuresLimit)
	}
	if c.LockBase <= 0 {
		c.LockBase = DefaultLockBase
	}
	if c.LockMax <= 0 {
		c.LockMax = DefaultLockMax
	}
	if c.EnrollTTL <= 0 {
		c.EnrollTTL = DefaultEnrollTTL
	}
	if c.Issuer == "" {
		c.Issuer = DefaultIssuer
	}
	if c.MaxBody <= 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.PublicURL != "" {
		u, err := ParsePublicURL(c.PublicURL)
		if err != nil {
			return c, err
		}
		c.PublicURL = u
	}
	return c, nil
}

// ParsePublicURL checks a public URL: http or https, a host and maybe a
// port, nothing else but a trailing slash, which it drops. (The
// helpdesk's pages and cookies live at the root, so a path prefix added
// by a proxy is not supported.)
func ParsePublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.Opaque != "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" ||
		strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("server: public URL %q: want http(s)://host[:port], nothing more", s)
	}
	return u.Scheme + "://" + u.Host, nil
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
	handler    http.Handler
	admin      [32]byte // SHA-256 of the admin token
	metricsTok [32]byte // SHA-256 of the metrics token

	mu      sync.RWMutex
	clients map[string]Client // clients never change once created
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
		clients: map[string]Client{},
		qr:      newQRRenderer(),
	}
	s.admin = sha256.Sum256([]byte(cfg.AdminToken))
	s.metricsTok = sha256.Sum256([]byte(cfg.MetricsToken))
	s.audit = newAuditor(cfg.Store, cfg.Logger)
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close flushes pending audit events. It does not close the Store.
func (s *Server) Close() error { return s.audit.close() }

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

// checkUser validates a user name from a path or a body.
func checkUser(u string) error {
	if u == "" || len(u) > 256 || !utf8.ValidString(u) {
		return fmt.Errorf("%w: user must be 1..256 bytes of UTF-8", ErrInvalidInput)
	}
	for _, r := range u {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: user must not contain control characters", ErrInvalidInput)
		}
	}
	return nil
}

func checkName(n string) error {
	if len(n) > 128 || !utf8.ValidString(n) {
		return fmt.Errorf("%w: name must be at most 128 bytes of UTF-8", ErrInvalidInput)
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: name must not contain control characters", ErrInvalidInput)
		}
	}
	return nil
}

// CreateClient registers an application and returns its id and secret.
// The secret is returned only here; the store keeps its SHA-256.
func (s *Server) CreateClient(ctx context.Context, name string) (id, secret string, err error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "", fmt.Errorf("%w: name is required", ErrInvalidInput)
	}
	if err := checkName(name); err != nil {
		return "", "", err
	}
	id = "lk_" + randomID(12)
	secret = randomToken(32)
	sum := sha256.Sum256([]byte(secret))
	if err := s.store.CreateClient(ctx, Client{ID: id, Name: name, SecretHash: sum[:], Created: s.now()}); err != nil {
		return "", "", err
	}
	s.audit.add(Event{Time: s.now(), Action: "client_create", Client: id, Outcome: "ok"})
	return id, secret, nil
}

// dummyHash is compared against when a client id is unknown, so that an
// unknown id and a wrong secret take the same time.
var dummyHash = sha256.Sum256([]byte("latchkey: no such client"))

// authenticateClient checks client credentials in constant time.
func (s *Server) authenticateClient(ctx context.Context, id, secret string) (bool, error) {
	s.mu.RLock()
	c, ok := s.clients[id]
	s.mu.RUnlock()
	if !ok {
		var err error
		c, err = s.store.Client(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			c.SecretHash = dummyHash[:]
		case err != nil:
			return false, err
		default:
			ok = true
			s.mu.Lock()
			s.clients[id] = c
			s.mu.Unlock()
		}
	}
	sum := sha256.Sum256([]byte(secret))
	match := subtle.ConstantTimeCompare(sum[:], c.SecretHash) == 1
	return ok && match, nil
}

// checkAdmin compares a bearer token with the admin token in constant time.
func (s *Server) checkAdmin(token string) bool {
	if s.cfg.AdminToken == "" || token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], s.admin[:]) == 1
}

// EnrollRequest describes a new credential; zero fields take defaults
// (SHA1, 6 digits, 30 s, the server's issuer).
type EnrollRequest struct {
	Name      string `json:"name,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
	Digits    int    `json:"digits,omitempty"`
	Period    int    `json:"period,omitempty"`
	Issuer    string `json:"issuer,omitempty"`
}

// Enrollment is a new credential as shown once to the helpdesk.
type Enrollment struct {
	ID      string     `json:"id"`
	Secret  otp.Secret `json:"-"`
	URI     string     `json:"-"`
	QR      []byte     `json:"-"`
	Expires time.Time  `json:"expires"`
}

// CreateCredential issues a new unverified TOTP credential for user: a
// random secret of the hash's size, sealed and committed before this
// returns. actor names who asked (for the audit log). The returned
// Enrollment holds the only copy of the secret outside the store.
func (s *Server) CreateCredential(ctx context.Context, user string, req EnrollRequest, actor string) (*Enrollment, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	if err := checkName(req.Name); err != nil {
		return nil, err
	}
	if err := checkName(req.Issuer); err != nil {
		return nil, err
	}
	alg := otp.SHA1
	if req.Algorithm != "" {
		a, err := otp.ParseAlgorithm(req.Algorithm)
		if err != nil {
			return nil, fmt.Errorf("%w: algorithm must be SHA1, SHA256 or SHA512", ErrInvalidInput)
		}
		alg = a
	}
	if req.Digits == 0 {
		req.Digits = otp.DefaultDigits
	}
	if req.Digits < otp.MinDigits || req.Digits > otp.MaxDigits {
		return nil, fmt.Errorf("%w: digits must be 6, 7 or 8", ErrInvalidInput)
	}
	if req.Period == 0 {
		req.Period = otp.DefaultPeriod
	}
	if req.Period < 10 || req.Period > 300 {
		return nil, fmt.Errorf("%w: period must be 10..300 seconds (authenticator apps expect 30)", ErrInvalidInput)
	}
	issuer := strings.TrimSpace(req.Issuer)
	if issuer == "" {
		issuer = s.cfg.Issuer
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = issuer
	}
	secret, err := otp.NewSecret(alg)
	if err != nil {
		return nil, err
	}
	now := s.now()
	id := randomID(10)
	sealed, err := s.keys.Seal(secret, user, id)
	if err != nil {
		return nil, err
	}
	c := Credential{ID: id, User: user, Name: name, Issuer: issuer, Algorithm: alg.String(), Digits: req.Digits,
		Period: req.Period, Secret: sealed, Created: now, Expires: now.Add(s.cfg.EnrollTTL), LastStep: -1}
	key := &otpauth.Key{Type: otp.TOTP, Issuer: issuer, Account: user, Secret: secret, Algorithm: alg, Digits: req.Digits, Period: req.Period}
	uri := key.String()
	qr, err := s.qr.PNG(uri)
	if err != nil {
		return nil, err
	}
	ev := Event{Time: now, User: user, Credential: id, Client: actor, Action: "enroll", Outcome: "created"}
	if err := s.store.CreateCredential(ctx, c, ev); err != nil {
		return nil, err
	}
	s.metrics.enrollments.Inc()
	s.log.InfoContext(ctx, "credential created", "user", user, "credential", id, "algorithm", c.Algorithm, "digits", c.Digits, "period", c.Period)
	return &Enrollment{ID: id, Secret: secret, URI: uri, QR: qr, Expires: c.Expires}, nil
}

// generator opens a stored credential's secret and prepares its codes.
func (s *Server) generator(c Credential) (*otp.Generator, error) {
	secret, err := s.keys.Open(c.Secret, c.User, c.ID)
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	defer secret.Wipe()
	alg, err := otp.ParseAlgorithm(c.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", c.ID, err)
	}
	return otp.NewGenerator(secret, otp.Options{Algorithm: alg, Digits: c.Digits, Period: c.Period})
}

// PendingQR returns the QR PNG of an unverified, unexpired credential.
func (s *Server) PendingQR(ctx context.Context, user, id string) ([]byte, error) {
	c, err := s.pending(ctx, user, id)
	if err != nil {
		return nil, err
	}
	secret, err := s.keys.Open(c.Secret, c.User, c.ID)
	if err != nil {
		return nil, err
	}
	defer secret.Wipe()
	alg, _ := otp.ParseAlgorithm(c.Algorithm)
	key := &otpauth.Key{Type: otp.TOTP, Issuer: c.Issuer, Account: user, Secret: secret, Algorithm: alg, Digits: c.Digits, Period: c.Period}
	return s.qr.PNG(key.String())
}

// pending returns an unverified credential that has not expired.
func (s *Server) pending(ctx context.Context, user, id string) (Credential, error) {
	c, err := s.store.Credential(ctx, user, id)
	if err != nil {
		return Credential{}, err
	}
	if c.Verified {
		return Credential{}, ErrAlreadyVerified
	}
	if !c.Expires.After(s.now()) {
		return Credential{}, ErrNotFound
	}
	return c, nil
}

func (s *Server) lockout() Lockout {
	return Lockout{MaxFailures: s.cfg.MaxFailures, Base: s.cfg.LockBase, Max: s.cfg.LockMax}
}

// failed counts a failure for user and reports a new lock.
func (s *Server) failed(ctx context.Context, user, cred, actor, action string, now time.Time) error {
	st, err := s.store.RecordFailure(ctx, user, now, s.lockout())
	if err != nil {
		return err
	}
	if st.Failures >= s.cfg.MaxFailures {
		s.metrics.lockouts.Inc()
		s.audit.add(Event{Time: now, User: user, Credential: cred, Client: actor, Action: "lockout",
			Outcome: "locked for " + st.LockedUntil.Sub(now).Round(time.Second).String()})
		s.log.WarnContext(ctx, "user locked", "user", user, "failures", st.Failures, "until", st.LockedUntil.UTC())
	}
	return nil
}

// LockedError carries when a locked user may try again.
type LockedError struct{ Until time.Time }

// Error returns "user locked"; Until is for the Retry-After header.
func (e *LockedError) Error() string { return "user locked" }

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// ConfirmCredential verifies the first code of an unverified credential.
// On success the credential is verified and the code's step is burned, so
// the first sign-in cannot reuse it. A wrong code returns ErrInvalidCode
// and counts as a failure for the user.
func (s *Server) ConfirmCredential(ctx context.Context, user, id, code, actor string) error {
	now := s.now()
	st, err := s.store.UserState(ctx, user)
	if err != nil {
		return err
	}
	if st.LockedUntil.After(now) {
		return &LockedError{Until: st.LockedUntil}
	}
	c, err := s.pending(ctx, user, id)
	if err != nil {
		return err
	}
	g, err := s.generator(c)
	if err != nil {
		return err
	}
	step, ok := g.Verify(code, now, s.cfg.Window)
	if ok {
		ok, err = s.store.Confirm(ctx, user, id, int64(step), now)
		if err != nil {
			return err
		}
	}
	if !ok {
		s.audit.add(Event{Time: now, User: user, Credential: id, Client: actor, Action: "confirm", Outcome: "invalid_code"})
		if err := s.failed(ctx, user, id, actor, "confirm", now); err != nil {
			return err
		}
		return ErrInvalidCode
	}
	s.audit.add(Event{Time: now, User: user, Credential: id, Client: actor, Action: "confirm", Outcome: "verified"})
	s.log.InfoContext(ctx, "credential verified", "user", user, "credential", id)
	return nil
}

// Verification outcomes, as the verify API reports them.
const (
	OutcomeValid        = "valid"
	OutcomeInvalid      = "invalid_code"
	OutcomeReplayed     = "replayed"
	OutcomeNoCredential = "no_credential"
	OutcomeLocked       = "locked"
)

// Result is the outcome of a verification.
type Result struct {
	Outcome    string
	Credential string    // set when valid
	RetryAfter time.Time // set when locked
}

// Verify checks a code for user against the user's verified credentials.
// A valid code advances the credential's last step by compare-and-set, so
// it can be accepted once; a wrong one counts towards the user's lock.
func (s *Server) Verify(ctx context.Context, client, user, code string) (Result, error) {
	now := s.now()
	creds, st, err := s.store.VerifiedCredentials(ctx, user)
	if err != nil {
		return Result{}, err
	}
	res, err := s.verify(ctx, client, user, code, now, creds, st)
	if err != nil {
		return Result{}, err
	}
	s.metrics.verifications.WithLabelValues(res.Outcome).Inc()
	s.audit.add(Event{Time: now, User: user, Credential: res.Credential, Client: client, Action: "verify", Outcome: res.Outcome})
	return res, nil
}

func (s *Server) verify(ctx context.Context, client, user, code string, now time.Time, creds []Credential, st UserState) (Result, error) {
	if st.LockedUntil.After(now) {
		return Result{Outcome: OutcomeLocked, RetryAfter: st.LockedUntil}, nil
	}
	if len(creds) == 0 {
		return Result{Outcome: OutcomeNoCredential}, nil
	}
	var match *Credential
	var step uint64
	for i := range creds {
		g, err := s.generator(creds[i])
		if err != nil {
			return Result{}, err
		}
		if st, ok := g.Verify(code, now, s.cfg.Window); ok && match == nil {
			match, step = &creds[i], st
		}
	}
	if match == nil {
		if err := s.failed(ctx, user, "", client, "verify", now); err != nil {
			return Result{}, err
		}
		return Result{Outcome: OutcomeInvalid}, nil
	}
	if int64(step) <= match.LastStep {
		return Result{Outcome: OutcomeReplayed, Credential: match.ID}, nil
	}
	won, err := s.store.Accept(ctx, user, match.ID, int64(step), now)
	if err != nil {
		return Result{}, err
	}
	if won {
		return Result{Outcome: OutcomeValid, Credential: match.ID}, nil
	}
	// Another request won the step, or a concurrent failure locked the user.
	if st, err := s.store.UserState(ctx, user); err == nil && st.LockedUntil.After(now) {
		return Result{Outcome: OutcomeLocked, RetryAfter: st.LockedUntil}, nil
	}
	return Result{Outcome: OutcomeReplayed, Credential: match.ID}, nil
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

// DeleteCredential removes a credential of user (verified or not).
func (s *Server) DeleteCredential(ctx context.Context, user, id, actor string) error {
	if err := s.store.DeleteCredential(ctx, user, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "credential deleted", "user", user, "credential", id)
	return s.store.Audit(ctx, Event{Time: s.now(), User: user, Credential: id, Client: actor, Action: "delete", Outcome: "ok"})
}

// SweepExpired deletes unverified credentials whose enrollment window
// has passed; Run calls it every minute.
func (s *Server) SweepExpired(ctx context.Context) (int, error) {
	return s.store.DeleteExpired(ctx, s.now())
}
