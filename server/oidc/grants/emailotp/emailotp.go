// Package emailotp is the email one-time-code grant: an application
// proves that a person reads a mailbox, in two calls to the token
// endpoint with grant_type urn:latchkey:params:oauth:grant-type:email-otp.
//
//	username=ADDRESS [message=TEXT with {code}]  -> {"challenge": {"reference", "expires_in"}}
//	reference=REF code=CODE                      -> access_token + id_token (sub = the address)
//
// The first call mails a 6-digit code to the address (the message, when
// given, is the body with {code} replaced) and answers a reference; the
// second trades the reference and the code for tokens. A reference
// belongs to the client that started it and is good once.
//
// Nothing stored lets a reader of the database take over a challenge:
// the row holds SHA-256 of the reference and SHA-256 of reference and
// code, so the code cannot be brute-forced without the reference, which
// only the client has.
//
// Limits (see [Config]): a code lives 5 minutes and takes 5 guesses; an
// address gets at most 5 codes in 15 minutes; 10 wrong codes in a row
// for one address lock it with a back-off doubling from 30 s (up to
// 24 h), a delay rather than a hard lockout, since anyone can ask for a
// code for any address. A right code resets the count.
package emailotp

import (
	"context"
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

	"latchkey/server/oidc"
)

// GrantType is the grant_type value.
const GrantType = "urn:latchkey:params:oauth:grant-type:email-otp"

// Defaults for [Config] fields left zero, and fixed limits.
const (
	DefaultCodeTTL     = 5 * time.Minute
	DefaultMaxAttempts = 5
	DefaultSendLimit   = 5
	DefaultSendWindow  = 15 * time.Minute
	DefaultMaxFailures = 10
	DefaultLockBase    = 30 * time.Second
	DefaultLockMax     = 24 * time.Hour
	DefaultSubject     = "Your sign-in code"
	// DefaultMessage is the body when a request gives no message.
	DefaultMessage = "Your sign-in code is {code}.\n\nIt expires in a few minutes. If you did not ask for it, ignore this message.\n"

	// Digits is the length of a code.
	Digits = 6
	// MaxMessageLen bounds a request's message, in bytes.
	MaxMessageLen = 2000
	// MaxAddressLen is the longest address (RFC 5321 §4.5.3.1.3 path, less the brackets).
	MaxAddressLen = 254
	// Placeholder is what a message holds where the code goes.
	Placeholder = "{code}"
)

// Errors of a [Store].
var (
	// ErrNotFound: no challenge with that reference for that client, or
	// one already used.
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
	// RefHash is SHA-256 of the reference; CodeHash is SHA-256 of the
	// reference, a zero byte and the code.
	RefHash  []byte
	CodeHash []byte
	Client   string
	// Address is the normalized address (the id_token's sub); Key is its
	// lower-case form, which the limits count by.
	Address string
	Key     string
	Created time.Time
	Expires time.Time
}

// AddressState is what the limits keep per address.
type AddressState struct {
	// Sent is the codes sent in the window that started at WindowStart.
	Sent        int
	WindowStart time.Time
	// Failures is the count of consecutive wrong codes.
	Failures    int
	LockedUntil time.Time
}

// Store is the grant's persistent state (the server's SQL database,
// sqlemail.go). Every change that a limit depends on is one conditional
// statement, so concurrent requests on any instance cannot pass a limit
// together.
type Store interface {
	// CountEmailSend counts one send to the address key: in the window
	// that started after windowStart it adds one, else it starts a new
	// window at now. It returns the state after the count.
	CountEmailSend(ctx context.Context, key string, now, windowStart time.Time) (AddressState, error)
	// CreateEmailChallenge stores c, and may sweep challenges expired
	// before now and addresses idle since windowStart.
	CreateEmailChallenge(ctx context.Context, c Challenge, now, windowStart time.Time) error
	// DeleteEmailChallenge removes a challenge (its mail was not sent).
	DeleteEmailChallenge(ctx context.Context, refHash []byte) error
	// AttemptEmailChallenge takes one guess of the client's unused,
	// unexpired challenge with refHash, if its address is not locked at
	// now and it has taken fewer than maxAttempts. It returns the
	// challenge, or ErrNotFound, ErrExpired, ErrExhausted or ErrLocked.
	// Of concurrent calls, no more than maxAttempts in all succeed.
	AttemptEmailChallenge(ctx context.Context, refHash []byte, client string, now time.Time, maxAttempts int) (Challenge, error)
	// UseEmailChallenge marks the challenge used and resets its address's
	// failures; it reports whether this call did (of concurrent calls,
	// one does).
	UseEmailChallenge(ctx context.Context, refHash []byte, key string) (bool, error)
	// EmailFailure counts a wrong code for the address key and sets its
	// lock to now + lockFor(failures) when that is not zero.
	EmailFailure(ctx context.Context, key string, now time.Time, lockFor func(failures int) time.Duration) (AddressState, error)
}

// Mailer sends one plain-text message. SMTP does so over SMTP.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// Config holds the grant's dependencies and limits. Store and Mailer are
// required; each zero field takes the default named beside it.
type Config struct {
	Store  Store
	Mailer Mailer
	// Now is the clock (time.Now).
	Now func() time.Time
	// CodeTTL is how long a code is good (DefaultCodeTTL, 5 min; at most 1 h).
	CodeTTL time.Duration
	// MaxAttempts is the guesses one code takes (DefaultMaxAttempts, 5).
	MaxAttempts int
	// SendLimit codes go to one address per SendWindow (5 per 15 min).
	SendLimit  int
	SendWindow time.Duration
	// MaxFailures wrong codes in a row lock an address (10, at most 100)
	// for LockBase (30 s), doubling with each further one up to LockMax (24 h).
	MaxFailures       int
	LockBase, LockMax time.Duration
	// Subject is the mail's subject (DefaultSubject).
	Subject string
}

// Grant is the email one-time-code grant.
type Grant struct{ cfg Config }

// New returns the grant, to register with [oidc.Provider.Register].
func New(cfg Config) (*Grant, error) {
	if cfg.Store == nil || cfg.Mailer == nil {
		return nil, errors.New("emailotp: config needs a Store and a Mailer")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CodeTTL <= 0 {
		cfg.CodeTTL = DefaultCodeTTL
	}
	cfg.CodeTTL = min(cfg.CodeTTL, time.Hour)
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.SendLimit <= 0 {
		cfg.SendLimit = DefaultSendLimit
	}
	if cfg.SendWindow <= 0 {
		cfg.SendWindow = DefaultSendWindow
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
	if cfg.Subject == "" {
		cfg.Subject = DefaultSubject
	}
	return &Grant{cfg: cfg}, nil
}

// Type returns the grant type.
func (*Grant) Type() string { return GrantType }

// Token starts a challenge (username) or finishes one (reference and
// code); a request with both, or neither, is refused.
func (g *Grant) Token(ctx context.Context, req *oidc.TokenRequest) (*oidc.TokenResponse, error) {
	f := req.Form
	if s := f.Get("scope"); s != "" && s != "openid" {
		return nil, oidc.Errorf("invalid_scope", "the only scope is openid")
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
	addr, err := ParseAddress(req.Form.Get("username"))
	if err != nil {
		return nil, oidc.Errorf("invalid_request", "%v", err)
	}
	body := DefaultMessage
	if req.Form.Has("message") {
		if body, err = checkMessage(req.Form.Get("message")); err != nil {
			return nil, oidc.Errorf("invalid_request", "%v", err)
		}
	}
	now := g.cfg.Now()
	key := strings.ToLower(addr)
	windowStart := now.Add(-g.cfg.SendWindow)
	st, err := g.cfg.Store.CountEmailSend(ctx, key, now, windowStart)
	if err != nil {
		return nil, err
	}
	if st.LockedUntil.After(now) {
		return nil, slowDown("too many wrong codes for this address; try again in %s", wait(st.LockedUntil.Sub(now)))
	}
	if st.Sent > g.cfg.SendLimit {
		return nil, slowDown("%d codes were sent to this address in %s; try again in %s",
			g.cfg.SendLimit, g.cfg.SendWindow, wait(st.WindowStart.Add(g.cfg.SendWindow).Sub(now)))
	}
	ref, code := newReference(), newCode()
	c := Challenge{RefHash: refHash(ref), CodeHash: codeHash(ref, code), Client: req.Client.ID, Address: addr, Key: key,
		Created: now, Expires: now.Add(g.cfg.CodeTTL)}
	if err := g.cfg.Store.CreateEmailChallenge(ctx, c, now, windowStart); err != nil {
		return nil, err
	}
	if err := g.cfg.Mailer.Send(ctx, addr, g.cfg.Subject, strings.ReplaceAll(body, Placeholder, code)); err != nil {
		// Nobody knows this code; drop the row so it cannot be guessed either.
		if derr := g.cfg.Store.DeleteEmailChallenge(context.WithoutCancel(ctx), c.RefHash); derr != nil {
			err = errors.Join(err, derr)
		}
		return nil, fmt.Errorf("emailotp: send: %w", err)
	}
	return &oidc.TokenResponse{Challenge: &oidc.Challenge{Reference: ref, ExpiresIn: int(g.cfg.CodeTTL.Seconds())}}, nil
}

func (g *Grant) finish(ctx context.Context, req *oidc.TokenRequest) (*oidc.TokenResponse, error) {
	ref, code := req.Form.Get("reference"), req.Form.Get("code")
	if ref == "" || code == "" {
		return nil, oidc.Errorf("invalid_request", "reference and code are both required")
	}
	if len(ref) > 64 || len(code) > 16 {
		return nil, oidc.Errorf("invalid_grant", "unknown or used reference")
	}
	now := g.cfg.Now()
	rh := refHash(ref)
	c, err := g.cfg.Store.AttemptEmailChallenge(ctx, rh, req.Client.ID, now, g.cfg.MaxAttempts)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, oidc.Errorf("invalid_grant", "unknown or used reference")
	case errors.Is(err, ErrExpired):
		return nil, oidc.Errorf("invalid_grant", "OTP Expired")
	case errors.Is(err, ErrExhausted):
		return nil, oidc.Errorf("invalid_grant", "too many wrong codes for this reference; start again")
	case errors.Is(err, ErrLocked):
		return nil, oidc.Errorf("invalid_grant", "too many wrong codes for this address; start again later")
	case err != nil:
		return nil, err
	}
	if subtle.ConstantTimeCompare(codeHash(ref, code), c.CodeHash) != 1 {
		if _, err := g.cfg.Store.EmailFailure(ctx, c.Key, now, g.lockFor); err != nil {
			return nil, err
		}
		return nil, oidc.Errorf("invalid_grant", "wrong code")
	}
	won, err := g.cfg.Store.UseEmailChallenge(ctx, rh, c.Key)
	if err != nil {
		return nil, err
	}
	if !won {
		return nil, oidc.Errorf("invalid_grant", "unknown or used reference")
	}
	return g.tokens(ctx, req, c, now)
}

func (g *Grant) tokens(ctx context.Context, req *oidc.TokenRequest, c Challenge, now time.Time) (*oidc.TokenResponse, error) {
	p := req.Provider
	at, ttl, err := p.MintAccessToken(ctx, c.Address, req.Client.ID, "openid")
	if err != nil {
		return nil, err
	}
	idt, err := p.MintIDToken(ctx, oidc.IDToken{Subject: c.Address, Audience: req.Client.ID, AuthTime: now, AMR: []string{"otp"},
		VerifiedEmail: c.Address})
	if err != nil {
		return nil, err
	}
	return &oidc.TokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()), IDToken: idt, Scope: "openid"}, nil
}

func slowDown(format string, args ...any) *oidc.TokenError {
	e := oidc.Errorf("slow_down", format, args...)
	e.Status = 429
	return e
}

// wait rounds a delay up to whole seconds for a message.
func wait(d time.Duration) time.Duration {
	return max(time.Second, d.Truncate(time.Second)+time.Second)
}

// ParseAddress checks a bare address (no display name, no brackets) and
// returns it with its domain in lower case.
func ParseAddress(s string) (string, error) {
	if s == "" {
		return "", errors.New("username (an email address) is required")
	}
	if len(s) > MaxAddressLen || !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", fmt.Errorf("username must be an email address of at most %d bytes, without spaces", MaxAddressLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", errors.New("username must be a bare email address (user@example.com)")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 {
		return "", errors.New("username must be a bare email address (user@example.com)")
	}
	return s[:at] + "@" + strings.ToLower(s[at+1:]), nil
}

// checkMessage checks a request's message: text with the placeholder,
// no control characters but newlines and tabs.
func checkMessage(m string) (string, error) {
	if len(m) > MaxMessageLen || !utf8.ValidString(m) {
		return "", fmt.Errorf("message must be UTF-8 text of at most %d bytes", MaxMessageLen)
	}
	if !strings.Contains(m, Placeholder) {
		return "", fmt.Errorf("message must contain %s where the code goes", Placeholder)
	}
	if strings.IndexFunc(m, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' }) >= 0 {
		return "", errors.New("message must not contain control characters")
	}
	return m, nil
}

// newReference is 128 random bits.
func newReference() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var million = big.NewInt(1_000_000)

// newCode is a uniform 6-digit code from crypto/rand.
func newCode() string {
	n, err := rand.Int(rand.Reader, million)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%0*d", Digits, n.Int64())
}

func refHash(ref string) []byte {
	h := sha256.Sum256([]byte(ref))
	return h[:]
}

func codeHash(ref, code string) []byte {
	h := sha256.New()
	h.Write([]byte(ref))
	h.Write([]byte{0})
	h.Write([]byte(code))
	return h.Sum(nil)
}
