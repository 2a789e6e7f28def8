// Package emailotp is the email one-time-code grant: an application
// proves that a person reads a mailbox, in two calls to the token
// endpoint with grant_type urn:latchkey:params:oauth:grant-type:email-otp.
//
//	username=ADDRESS [message=TEXT with {code}]  -> 200 {"challenge": {"reference", "expires_in"}}
//	reference=REF code=CODE                      -> 200 access_token + id_token (sub = the address, lower-cased)
//
// The first call mails a code to the address and answers once the mail
// server accepted the message; the second trades the reference and the
// code for tokens. Errors of the second call are 400 invalid_grant with
// the challenge echoed: "OTP Expired", or "OTP Invalid" with
// attempts_left beside error.
//
// Three answers go beyond RFC 6749 on purpose (the grant's extensions):
// the first call's 200 with a challenge and no access_token; 429
// slow_down with Retry-After when an address or a client asked for too
// many challenges in an hour; 503 temporarily_unavailable when the mail
// cannot be sent (nothing usable is left behind).
//
// The reference is 128 random bits and a MAC (HMAC-SHA-256 under the
// server key) over them, the client and the address, so it is opaque
// and bound to both. The database holds only keyed hashes (HMAC under
// the server key) of the reference and of the code: a copy of it
// finishes no challenge and brute-forcing a code offline needs the key.
//
// Limits (see [Config]): a code takes 5 guesses; a new challenge for the
// same client and address ends the earlier one; an address gets at most
// 5 challenges an hour and a client 1000; wrong codes for one address
// count across its challenges, and 10 in a row lock it with a back-off
// doubling from 30 s (up to 24 h), a delay rather than a hard lockout,
// since anyone can ask for a code for any address. A right code resets
// the count.
package emailotp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"latchkey/server/oidc"
)

// GrantType is the grant_type value.
const GrantType = "urn:latchkey:params:oauth:grant-type:email-otp"

// Defaults for [Config] fields left zero, and fixed limits.
const (
	DefaultTTL          = 5 * time.Minute
	MinTTL, MaxTTL      = time.Second, 24 * time.Hour
	DefaultDigits       = 6
	MinDigits           = 6
	MaxDigits           = 10
	DefaultMaxAttempts  = 5
	DefaultAddressLimit = 5
	DefaultClientLimit  = 1000
	MaxAddressLimit     = 1000
	MaxClientLimit      = 1_000_000
	// LimitWindow is the window of the per-address and per-client limits.
	LimitWindow        = time.Hour
	DefaultMaxFailures = 10
	DefaultLockBase    = 30 * time.Second
	DefaultLockMax     = 24 * time.Hour
	DefaultSubject     = "Your sign-in code"
	// DefaultTemplate is the body when a request gives no message.
	DefaultTemplate = "Your sign-in code is {code}.\n\nIf you did not ask for it, ignore this message.\n"

	// MaxMessageLen bounds a request's message, in characters.
	MaxMessageLen = 500
	// MaxTemplateLen bounds the configured template, in characters.
	MaxTemplateLen = 10000
	// MaxSubjectLen bounds the configured subject, in characters.
	MaxSubjectLen = 200
	// MaxAddressLen is the longest address (RFC 5321 §4.5.3.1.3 path, less the brackets).
	MaxAddressLen = 254
	// Placeholder is what a message holds where the code goes;
	// AltPlaceholder is accepted as a synonym.
	Placeholder    = "{code}"
	AltPlaceholder = "{0}"

	// Errors descriptions of the second call.
	DescExpired = "OTP Expired"
	DescInvalid = "OTP Invalid"
)

// Errors of a [Store].
var (
	// ErrNotFound: no challenge with that reference for that client, or
	// one already used or ended by a newer one.
	ErrNotFound = oidc.ErrNotFound
	// ErrExpired: the challenge's code expired.
	ErrExpired = errors.New("challenge expired")
	// ErrExhausted: the challenge took its last guess.
	ErrExhausted = errors.New("challenge has no guesses left")
	// ErrLocked: the address is locked after too many wrong codes.
	ErrLocked = errors.New("address locked")
)

// Challenge is one code sent, as stored.
type Challenge struct {
	// RefHash is the keyed hash of the reference's random part; CodeHash
	// the keyed hash of that part and the code.
	RefHash  []byte
	CodeHash []byte
	Client   string
	// Address is the address, lower-cased: the id_token's sub, and what
	// the limits count by.
	Address  string
	Created  time.Time
	Expires  time.Time
	Attempts int // guesses taken, this one included
}

// Limit is what a limit keeps per address or per client.
type Limit struct {
	// Sent is the challenges started in the window that began at WindowStart.
	Sent        int
	WindowStart time.Time
	// Failures is the count of consecutive wrong codes (addresses only).
	Failures    int
	LockedUntil time.Time
}

// Limit keys: what [Store.CountEmailSend] counts by.
func addressKey(addr string) string  { return "address:" + addr }
func clientKey(client string) string { return "client:" + client }

// Store is the grant's persistent state (the server's SQL database,
// sqlemail.go). Every change that a limit depends on is one conditional
// statement, so concurrent requests on any instance cannot pass a limit
// together.
type Store interface {
	// CountEmailSend counts one challenge for key: in the window that
	// started after windowStart it adds one, else it starts a new window
	// at now. It returns the state after the count.
	CountEmailSend(ctx context.Context, key string, now, windowStart time.Time) (Limit, error)
	// CreateEmailChallenge stores c and ends every earlier challenge of
	// the same client and address, in one transaction; it may sweep
	// challenges expired before now and limits idle since windowStart.
	CreateEmailChallenge(ctx context.Context, c Challenge, now, windowStart time.Time) error
	// DeleteEmailChallenge removes a challenge (its mail was not sent).
	DeleteEmailChallenge(ctx context.Context, refHash []byte) error
	// AttemptEmailChallenge takes one guess of the client's unused,
	// unexpired challenge with refHash, if its address (limit key
	// addressKey) is not locked at now and it has taken fewer than
	// maxAttempts. It returns the challenge, or ErrNotFound, ErrExpired
	// (with the challenge), ErrExhausted or ErrLocked. Of concurrent
	// calls, no more than maxAttempts in all succeed.
	AttemptEmailChallenge(ctx context.Context, refHash []byte, client string, now time.Time, maxAttempts int) (Challenge, error)
	// UseEmailChallenge marks the challenge used and resets the failures
	// of limit key; it reports whether this call did (of concurrent
	// calls, one does).
	UseEmailChallenge(ctx context.Context, refHash []byte, key string) (bool, error)
	// EmailFailure counts a wrong code for limit key and sets its lock to
	// now + lockFor(failures) when that is not zero.
	EmailFailure(ctx context.Context, key string, now time.Time, lockFor func(failures int) time.Duration) (Limit, error)
}

// Mailer sends one plain-text message and returns once the mail server
// accepted it. SMTP does so over SMTP.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Settings are the operator's choices (the email_otp_* settings); each
// zero field takes the default named beside it.
type Settings struct {
	// TTL is how long a code is good (email_otp_ttl; DefaultTTL, 5 min;
	// 1 s to 24 h).
	TTL time.Duration
	// Digits is a code's length (email_otp_digits; 6, at most 10).
	Digits int
	// Subject is the mail's subject (email_otp_subject; DefaultSubject).
	Subject string
	// Template is the body when a request has no message, with {code}
	// or {0} (email_otp_template; DefaultTemplate).
	Template string
	// AddressLimit and ClientLimit are the challenges an address and a
	// client may start per LimitWindow (email_otp_address_limit, 5, at
	// most MaxAddressLimit; email_otp_client_limit, 1000, at most
	// MaxClientLimit).
	AddressLimit, ClientLimit int
}

// Check applies the defaults and checks s.
func (s Settings) Check() (Settings, error) {
	if s.TTL == 0 {
		s.TTL = DefaultTTL
	}
	if s.TTL < MinTTL || s.TTL > MaxTTL {
		return s, fmt.Errorf("emailotp: email_otp_ttl %s: want 1s to 24h", s.TTL)
	}
	if s.Digits == 0 {
		s.Digits = DefaultDigits
	}
	if s.Digits < MinDigits || s.Digits > MaxDigits {
		return s, fmt.Errorf("emailotp: email_otp_digits %d: want %d to %d", s.Digits, MinDigits, MaxDigits)
	}
	if s.AddressLimit < 0 || s.AddressLimit > MaxAddressLimit {
		return s, fmt.Errorf("emailotp: email_otp_address_limit %d: want 1 to %d challenges an hour", s.AddressLimit, MaxAddressLimit)
	}
	if s.ClientLimit < 0 || s.ClientLimit > MaxClientLimit {
		return s, fmt.Errorf("emailotp: email_otp_client_limit %d: want 1 to %d challenges an hour", s.ClientLimit, MaxClientLimit)
	}
	if s.Subject == "" {
		s.Subject = DefaultSubject
	}
	if err := noBreak("email_otp_subject", s.Subject); err != nil {
		return s, fmt.Errorf("emailotp: %w", err)
	}
	if !utf8.ValidString(s.Subject) || utf8.RuneCountInString(s.Subject) > MaxSubjectLen || strings.IndexFunc(s.Subject, unicode.IsControl) >= 0 {
		return s, fmt.Errorf("emailotp: email_otp_subject: want one line of UTF-8 text of at most %d characters", MaxSubjectLen)
	}
	if s.Template == "" {
		s.Template = DefaultTemplate
	}
	if err := checkText(s.Template, MaxTemplateLen); err != nil {
		return s, fmt.Errorf("emailotp: email_otp_template: %v", err)
	}
	return s, nil
}

// Config holds the grant's dependencies and limits. Store, Mailer and
// Key are required; each zero field takes the default named beside it.
type Config struct {
	Settings
	Store  Store
	Mailer Mailer
	// Key (at least 32 bytes) keys the reference's MAC and the stored
	// hashes; the server derives it from its master key.
	Key []byte
	// Now is the clock (time.Now).
	Now func() time.Time
	// MaxAttempts is the guesses one code takes (DefaultMaxAttempts, 5).
	MaxAttempts int
	// MaxFailures wrong codes in a row for an address, across its
	// challenges, lock it (10, at most 100) for LockBase (30 s),
	// doubling with each further one up to LockMax (24 h).
	MaxFailures       int
	LockBase, LockMax time.Duration
	// Registry, when set, receives latchkey_email_otp_total{event}.
	Registry prometheus.Registerer
}

// Grant is the email one-time-code grant.
type Grant struct {
	cfg     Config
	events  *prometheus.CounterVec
	modulus *big.Int
}

// Metric events.
const (
	EventSent     = "sent"
	EventVerified = "verified"
	EventExpired  = "expired"
	EventFailed   = "failed"
)

// New returns the grant, to register with [oidc.Provider.Register].
func New(cfg Config) (*Grant, error) {
	if cfg.Store == nil || cfg.Mailer == nil {
		return nil, errors.New("emailotp: config needs a Store and a Mailer")
	}
	if len(cfg.Key) < 32 {
		return nil, errors.New("emailotp: config needs a key of at least 32 bytes")
	}
	var err error
	if cfg.Settings, err = cfg.Settings.Check(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.AddressLimit <= 0 {
		cfg.AddressLimit = DefaultAddressLimit
	}
	if cfg.ClientLimit <= 0 {
		cfg.ClientLimit = DefaultClientLimit
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.MaxFailures > 100 {
		return nil, errors.New("emailotp: max failures above 100 (NIST SP 800-63B)")
	}
	if cfg.LockBase <= 0 {
		cfg.LockBase = DefaultLockBase
	}
	if cfg.LockMax <= 0 {
		cfg.LockMax = DefaultLockMax
	}
	g := &Grant{cfg: cfg, modulus: new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cfg.Digits)), nil)}
	g.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latchkey_email_otp_total",
		Help: "Email code grant events: codes sent, verified, expired, and failed (wrong code, dead or unknown reference).",
	}, []string{"event"})
	for _, e := range []string{EventSent, EventVerified, EventExpired, EventFailed} {
		g.events.WithLabelValues(e)
	}
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(g.events); err != nil {
			return nil, fmt.Errorf("emailotp: metrics: %w", err)
		}
	}
	return g, nil
}

// Type returns the grant type.
func (*Grant) Type() string { return GrantType }

// Token starts a challenge (username) or finishes one (reference and
// code); a request with both, or neither, is refused.
func (g *Grant) Token(ctx context.Context, req *oidc.TokenRequest) (*oidc.TokenResponse, error) {
	f := req.Form
	if s := f.Get("scope"); s != "" && s != "openid" && s != "openid email" {
		return nil, oidc.Errorf("invalid_scope", "the scope is openid email")
	}
	start := f.Has("username")
	finish := f.Has("reference") || f.Has("code")
	switch {
	case start && finish:
		return nil, oidc.Errorf("invalid_request", "send username to start, or reference and code to finish, not both")
	case start:
		return g.start(ctx, req)
	case finish:
		if f.Has("message") {
			return nil, oidc.Errorf("invalid_request", "message goes with username")
		}
		return g.finish(ctx, req)
	}
	return nil, oidc.Errorf("invalid_request", "username, or reference and code, is required")
}

// lockFor is the lock after failures consecutive wrong codes, or zero.
func (g *Grant) lockFor(failures int) time.Duration {
	if failures < g.cfg.MaxFailures {
		return 0
	}
	d := g.cfg.LockBase
	for i := g.cfg.MaxFailures; i < failures && d < g.cfg.LockMax; i++ {
		d *= 2
	}
	return min(d, g.cfg.LockMax)
}

func (g *Grant) start(ctx context.Context, req *oidc.TokenRequest) (*oidc.TokenResponse, error) {
	sent, err := ParseAddress(req.Form.Get("username"))
	if err != nil {
		return nil, oidc.Errorf("invalid_request", "%v", err)
	}
	addr := strings.ToLower(sent)
	req.User = addr
	body := g.cfg.Template
	if req.Form.Has("message") {
		body = req.Form.Get("message")
		if err := checkText(body, MaxMessageLen); err != nil {
			return nil, oidc.Errorf("invalid_request", "message: %v", err)
		}
	}
	now := g.cfg.Now()
	windowStart := now.Add(-LimitWindow)
	st, err := g.cfg.Store.CountEmailSend(ctx, addressKey(addr), now, windowStart)
	if err != nil {
		return nil, err
	}
	if st.LockedUntil.After(now) {
		req.Note = "locked"
		return nil, slowDown(st.LockedUntil.Sub(now), "too many wrong codes for this address")
	}
	if st.Sent > g.cfg.AddressLimit {
		req.Note = "address_limit"
		return nil, slowDown(st.WindowStart.Add(LimitWindow).Sub(now), "%d challenges were started for this address in the last hour", g.cfg.AddressLimit)
	}
	cst, err := g.cfg.Store.CountEmailSend(ctx, clientKey(req.Client.ID), now, windowStart)
	if err != nil {
		return nil, err
	}
	if cst.Sent > g.cfg.ClientLimit {
		req.Note = "client_limit"
		return nil, slowDown(cst.WindowStart.Add(LimitWindow).Sub(now), "this client started %d challenges in the last hour", g.cfg.ClientLimit)
	}
	ref, id := g.newReference(req.Client.ID, addr)
	code := g.newCode()
	c := Challenge{RefHash: g.refHash(id), CodeHash: g.codeHash(id, code), Client: req.Client.ID, Address: addr,
		Created: now, Expires: now.Add(g.cfg.TTL)}
	if err := g.cfg.Store.CreateEmailChallenge(ctx, c, now, windowStart); err != nil {
		return nil, err
	}
	body = strings.ReplaceAll(strings.ReplaceAll(body, Placeholder, code), AltPlaceholder, code)
	if err := g.cfg.Mailer.Send(ctx, sent, g.cfg.Subject, body); err != nil {
		// Nobody knows this code; drop the row so it cannot be guessed either.
		if derr := g.cfg.Store.DeleteEmailChallenge(context.WithoutCancel(ctx), c.RefHash); derr != nil {
			return nil, errors.Join(err, derr)
		}
		req.Note = "mail_failed"
		return nil, &oidc.TokenError{Code: "temporarily_unavailable", Status: 503,
			Description: "the code could not be mailed; try again later"}
	}
	g.events.WithLabelValues(EventSent).Inc()
	req.Note = "sent"
	return &oidc.TokenResponse{Challenge: &oidc.Challenge{Reference: ref, ExpiresIn: int(g.cfg.TTL.Seconds())}}, nil
}

func (g *Grant) finish(ctx context.Context, req *oidc.TokenRequest) (*oidc.TokenResponse, error) {
	ref, code := req.Form.Get("reference"), req.Form.Get("code")
	if ref == "" || code == "" {
		return nil, oidc.Errorf("invalid_request", "reference and code are both required")
	}
	now := g.cfg.Now()
	id, tag, ok := splitReference(ref)
	if !ok || len(code) > MaxDigits {
		g.events.WithLabelValues(EventFailed).Inc()
		req.Note = "unknown"
		return nil, g.refused(ref, DescInvalid, 0, time.Time{}, now)
	}
	rh := g.refHash(id)
	c, err := g.cfg.Store.AttemptEmailChallenge(ctx, rh, req.Client.ID, now, g.cfg.MaxAttempts)
	switch {
	case errors.Is(err, ErrExpired):
		g.events.WithLabelValues(EventExpired).Inc()
		req.User, req.Note = c.Address, "expired"
		return nil, g.refused(ref, DescExpired, -1, time.Time{}, now)
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrExhausted), errors.Is(err, ErrLocked):
		g.events.WithLabelValues(EventFailed).Inc()
		req.User, req.Note = c.Address, map[error]string{ErrNotFound: "unknown", ErrExhausted: "dead", ErrLocked: "locked"}[unwrapKnown(err)]
		return nil, g.refused(ref, DescInvalid, 0, time.Time{}, now)
	case err != nil:
		return nil, err
	}
	req.User = c.Address
	if !hmac.Equal(tag, g.tag(id, c.Client, c.Address)) {
		// The random part is right but the MAC is not: a forged or
		// altered reference. The guess it took stays taken.
		g.events.WithLabelValues(EventFailed).Inc()
		req.Note = "bad_mac"
		return nil, g.refused(ref, DescInvalid, 0, time.Time{}, now)
	}
	if subtle.ConstantTimeCompare(g.codeHash(id, code), c.CodeHash) != 1 {
		a, err := g.cfg.Store.EmailFailure(ctx, addressKey(c.Address), now, g.lockFor)
		if err != nil {
			return nil, err
		}
		left := max(0, min(g.cfg.MaxAttempts-c.Attempts, g.cfg.MaxFailures-a.Failures))
		g.events.WithLabelValues(EventFailed).Inc()
		req.Note = fmt.Sprintf("invalid attempts_left=%d", left)
		exp := c.Expires
		if left == 0 {
			exp = time.Time{}
		}
		return nil, g.refused(ref, DescInvalid, left, exp, now)
	}
	won, err := g.cfg.Store.UseEmailChallenge(ctx, rh, addressKey(c.Address))
	if err != nil {
		return nil, err
	}
	if !won {
		g.events.WithLabelValues(EventFailed).Inc()
		req.Note = "used"
		return nil, g.refused(ref, DescInvalid, 0, time.Time{}, now)
	}
	resp, err := g.tokens(ctx, req, c, now)
	if err != nil {
		return nil, err
	}
	g.events.WithLabelValues(EventVerified).Inc()
	req.Note = "verified"
	return resp, nil
}

func unwrapKnown(err error) error {
	for _, k := range []error{ErrNotFound, ErrExhausted, ErrLocked} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}

// refused is the second call's 400 invalid_grant with the challenge
// echoed (expires_in 0 once it is of no more use; a reference that is
// not UTF-8 is echoed empty); attempts_left is
// left out when negative.
func (g *Grant) refused(ref, desc string, left int, expires, now time.Time) *oidc.TokenError {
	e := oidc.Errorf("invalid_grant", "%s", desc)
	if !utf8.ValidString(ref) {
		ref = "" // JSON cannot carry it back as sent
	}
	in := 0
	if expires.After(now) {
		in = int((expires.Sub(now) + time.Second - 1) / time.Second)
	}
	e.Extra = map[string]any{"challenge": oidc.Challenge{Reference: ref, ExpiresIn: in}}
	if left >= 0 {
		e.Extra["attempts_left"] = left
	}
	return e
}

func (g *Grant) tokens(ctx context.Context, req *oidc.TokenRequest, c Challenge, now time.Time) (*oidc.TokenResponse, error) {
	p := req.Provider
	const scope = "openid email"
	at, ttl, err := p.MintAccessToken(ctx, c.Address, req.Client.ID, scope)
	if err != nil {
		return nil, err
	}
	idt, err := p.MintIDToken(ctx, oidc.IDToken{Subject: c.Address, Audience: req.Client.ID, AuthTime: now, AMR: []string{"otp"},
		VerifiedEmail: c.Address})
	if err != nil {
		return nil, err
	}
	return &oidc.TokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()), IDToken: idt, Scope: scope}, nil
}

// slowDown is 429 slow_down with Retry-After (whole seconds, rounded up).
func slowDown(after time.Duration, format string, args ...any) *oidc.TokenError {
	after = max(time.Second, (after + time.Second - 1).Truncate(time.Second))
	e := oidc.Errorf("slow_down", format+"; try again in %s", append(args, after)...)
	e.Status = 429
	e.RetryAfter = after
	return e
}

// ParseAddress checks a bare address (no display name, no brackets)
// with net/mail and returns it as sent.
func ParseAddress(s string) (string, error) {
	if s == "" {
		return "", errors.New("username (an email address) is required")
	}
	if len(s) > MaxAddressLen || !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", fmt.Errorf("username must be an email address of at most %d bytes, without spaces or line breaks", MaxAddressLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", errors.New("username must be a bare email address (user@example.com)")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 {
		return "", errors.New("username must be a bare email address (user@example.com)")
	}
	return s, nil
}

// checkText checks a message or template: UTF-8 plain text of at most
// limit characters, with a placeholder, and no control characters but
// line breaks and tabs.
func checkText(m string, limit int) error {
	if !utf8.ValidString(m) || utf8.RuneCountInString(m) > limit {
		return fmt.Errorf("must be UTF-8 text of at most %d characters", limit)
	}
	if !strings.Contains(m, Placeholder) && !strings.Contains(m, AltPlaceholder) {
		return fmt.Errorf("must contain %s (or %s) where the code goes", Placeholder, AltPlaceholder)
	}
	if strings.IndexFunc(m, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) >= 0 {
		return errors.New("must be plain text, without control characters")
	}
	return nil
}

// A reference is base64url(id || tag): id is 16 random bytes, tag the
// first 16 bytes of HMAC(key, "ref-tag" id client address).
const idLen, tagLen = 16, 16

func (g *Grant) mac(label string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, g.cfg.Key)
	m.Write([]byte(label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write(p)
	}
	return m.Sum(nil)
}

func (g *Grant) tag(id []byte, client, addr string) []byte {
	return g.mac("latchkey email-otp ref-tag", id, []byte(client), []byte(addr))[:tagLen]
}

func (g *Grant) newReference(client, addr string) (ref string, id []byte) {
	id = make([]byte, idLen)
	rand.Read(id)
	return base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), id...), g.tag(id, client, addr)...)), id
}

func splitReference(ref string) (id, tag []byte, ok bool) {
	if len(ref) != base64.RawURLEncoding.EncodedLen(idLen+tagLen) {
		return nil, nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(ref)
	if err != nil {
		return nil, nil, false
	}
	return b[:idLen], b[idLen:], true
}

func (g *Grant) refHash(id []byte) []byte { return g.mac("latchkey email-otp ref", id) }

func (g *Grant) codeHash(id []byte, code string) []byte {
	return g.mac("latchkey email-otp code", id, []byte(code))
}

// newCode is a uniform code of cfg.Digits digits from crypto/rand.
func (g *Grant) newCode() string {
	n, err := rand.Int(rand.Reader, g.modulus)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%0*d", g.cfg.Digits, n)
}
