package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"latchkey/core/otp"
	"latchkey/server/oidc/grants/emailotp"
)

// Defaults for [Config] fields left zero.
const (
	DefaultWindow      = 1
	DefaultMaxFailures = 10
	// MaxFailuresLimit is the most consecutive failures ever allowed
	// before a lock (NIST SP 800-63B).
	MaxFailuresLimit = 100
	DefaultLockBase  = 30 * time.Second
	DefaultLockMax   = time.Hour
	DefaultEnrollTTL = 15 * time.Minute
	DefaultIssuer    = "Latchkey"
	DefaultMaxBody   = 64 << 10
	// DefaultRequestTimeout bounds one request's work.
	DefaultRequestTimeout = 10 * time.Second
)

// Config holds a server's dependencies and settings. Store and Keyring
// are required; every other zero field takes the default named beside it.
type Config struct {
	Store   Store
	Keyring *Keyring
	// AdminToken is the bearer token of admin and helpdesk calls, of at
	// least MinTokenBits. Empty disables the admin API.
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
	// lock before a success doubles it, up to LockMax (default 1 h).
	LockBase, LockMax time.Duration
	// EnrollTTL is how long an unverified credential lives (15 min).
	EnrollTTL time.Duration
	// Issuer is the otpauth issuer when a request names none ("Latchkey").
	Issuer string
	// Credentials are the defaults of new credentials (default_algorithm,
	// default_digits, default_period, default_secret_length).
	Credentials CredentialPolicy
	// MaxBody limits request bodies in bytes (64 KiB); larger gets 413.
	MaxBody int64
	// RequestTimeout bounds the work of one request (10 s).
	RequestTimeout time.Duration
	// Registry receives the Prometheus metrics and is served at
	// /metrics; nil means a private registry.
	Registry *prometheus.Registry
	// HelpdeskPassword, when set, also signs in to the /helpdesk page
	// (besides the admin token): at least MinPasswordLen characters and
	// not one of the 30,000 most common passwords.
	HelpdeskPassword string
	// MetricsToken, when set, is the bearer token /metrics requires
	// (Prometheus's authorization setting); empty leaves /metrics open.
	MetricsToken string
	// PublicURL is the server's URL as users reach it, for a server
	// behind a proxy that terminates TLS ("https://auth.example.com"; a
	// scheme, a host and maybe a port, at the root): enrollment links are
	// built on it, and an https one makes the helpdesk's cookies Secure.
	// Empty means the URL each request reached. It is also the OpenID
	// issuer; without it the issuer is the scheme and listen address,
	// set by ListenAndServe (see oidc.Provider.SetIssuer).
	PublicURL string
	// SigningAlg is the algorithm of the OpenID signing key made at first
	// start: RS256 (default) or ES256.
	SigningAlg string
	// TokenTTL is the lifetime of issued tokens (10 min, at most 1 h).
	TokenTTL time.Duration
	// Mailer, when set, turns on the email code grant and sends its mail
	// (emailotp.SMTP); nil leaves the grant out.
	Mailer emailotp.Mailer
	// CIBAInterval is a CIBA request's first polling interval (5 s);
	// CIBAMaxExpiry caps its requested_expiry (10 min).
	CIBAInterval, CIBAMaxExpiry time.Duration
	// EmailOTP are the email code grant's settings (email_otp_ttl,
	// email_otp_digits, email_otp_subject, email_otp_template,
	// email_otp_address_limit, email_otp_client_limit).
	EmailOTP emailotp.Settings
}

func (c Config) withDefaults() (Config, error) {
	if c.Store == nil || c.Keyring == nil {
		return c, errors.New("server: config needs a Store and a Keyring")
	}
	if c.AdminToken != "" {
		if err := checkAdminToken(c.AdminToken); err != nil {
			return c, err
		}
	}
	if c.HelpdeskPassword != "" {
		if err := checkHelpdeskPassword(c.HelpdeskPassword); err != nil {
			return c, err
		}
	}
	if strings.Contains(c.Issuer, ":") {
		return c, fmt.Errorf("server: issuer %q: an otpauth issuer must not contain ':'", c.Issuer)
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
	var err error
	if c.Credentials, err = c.Credentials.withDefaults(); err != nil {
		return c, err
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
