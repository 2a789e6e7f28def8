// Package ciba is OpenID Connect Client-Initiated Backchannel
// Authentication (CIBA Core 1.0) in poll mode, with the user's Latchkey
// as the authentication device:
//
//	client                      server                       device (latchkey)
//	POST /oauth2/bc-authorize ->  request stored, pending
//	                              <- GET /api/v1/device/requests (signed, long poll)
//	                              <- POST /api/v1/device/requests/{id} (signed answer)
//	POST /oauth2/token (poll)  ->  authorization_pending | slow_down | tokens
//
// Every request's state is a row in the database ([Store]), changed
// under a row lock, so that several instances on one PostgreSQL serve one
// flow: the client may poll one instance while the device answers
// another. A device is an Ed25519 public key registered for one verified
// credential of a user (see [Service.RegisterDevice]); what it signs is
// defined by latchkey/core/device.
package ciba

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"sync"
	"time"

	"latchkey/server/oidc"
)

// GrantType is the CIBA grant_type value.
const GrantType = oidc.GrantCIBA

// Defaults and limits.
const (
	// DefaultExpiry is a request's lifetime when the client asks none.
	DefaultExpiry = 2 * time.Minute
	// DefaultMaxExpiry caps requested_expiry.
	DefaultMaxExpiry = 10 * time.Minute
	// DefaultInterval is the polling interval a request starts with.
	DefaultInterval = 5 * time.Second
	// SlowDownStep is what a too-early poll adds to the interval (CIBA
	// Core §11, RFC 8628 §3.5).
	SlowDownStep = 5 * time.Second
	// MaxBindingMessage is the longest binding_message, in characters.
	MaxBindingMessage = 64
	// recheck is how often a waiting device's long poll rereads the
	// database for requests made on another instance.
	recheck = 250 * time.Millisecond
)

// Request statuses.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
	StatusDenied   = "denied"
	StatusIssued   = "issued" // approved, and the tokens were handed out
)

// Request is one backchannel authentication request as stored.
type Request struct {
	ID             string // auth_req_id: 256 bits from crypto/rand
	Client         string
	User           string
	Scope          string
	BindingMessage string
	RequireOTP     bool
	Created        time.Time
	Expires        time.Time
	Interval       time.Duration
	LastPoll       time.Time // zero before the first poll
	Status         string
	Answered       time.Time // zero while pending
	Device         string    // the device that answered
	AMR            []string  // set on approval
}

// Device is a paired authenticator: an Ed25519 key for one verified
// credential of a user.
type Device struct {
	ID         string
	User       string
	Credential string
	PublicKey  ed25519.PublicKey
	Created    time.Time
}

// Store is the CIBA state in the server's database (server/sqlciba.go).
type Store interface {
	// CreateCIBARequest stores a new pending request.
	CreateCIBARequest(ctx context.Context, r Request) error
	// CIBARequest reads one request, or oidc.ErrNotFound.
	CIBARequest(ctx context.Context, id string) (Request, error)
	// UpdateCIBARequest reads the request with id under a row lock (one
	// transaction), calls fn and, when fn returns nil, writes back its
	// Interval, LastPoll, Status, Answered, Device and AMR. Of
	// concurrent calls, also on several instances, each sees the
	// previous one's write. oidc.ErrNotFound when there is no such row.
	UpdateCIBARequest(ctx context.Context, id string, fn func(*Request) error) (Request, error)
	// PendingCIBARequests lists user's pending requests unexpired at now,
	// oldest first.
	PendingCIBARequests(ctx context.Context, user string, now time.Time) ([]Request, error)
	// DeleteCIBARequests drops requests that expired before t.
	DeleteCIBARequests(ctx context.Context, before time.Time) error

	// AddDevice registers d, replacing any device of its credential.
	AddDevice(ctx context.Context, d Device) error
	// Device returns a device whose credential still exists and is
	// verified, or oidc.ErrNotFound.
	Device(ctx context.Context, id string) (Device, error)
	// Devices lists user's devices, oldest first.
	Devices(ctx context.Context, user string) ([]Device, error)
	// DeleteDevice removes one device of user, or returns oidc.ErrNotFound.
	DeleteDevice(ctx context.Context, user, id string) error

	// CIBARequireOTP reports whether a client requires the current code
	// with an approval (its ciba_require_otp setting).
	CIBARequireOTP(ctx context.Context, client string) (bool, error)
	// SetCIBARequireOTP changes that setting.
	SetCIBARequireOTP(ctx context.Context, client string, on bool) error

	// UseJTI records a signed device request's jti (see oidc.Store).
	UseJTI(ctx context.Context, client, jti string, exp, now time.Time) (bool, error)
}

// Event is what the service tells the audit log.
type Event struct {
	User, Credential, Client, Action, Outcome string
}

// Config holds a service's dependencies; zero fields take the defaults.
type Config struct {
	Store    Store
	Provider *oidc.Provider
	Now      func() time.Time
	Logger   *slog.Logger
	// Audit receives every step; nil drops them.
	Audit func(Event)
	// CheckCode verifies the current code of a user's credential with
	// the usual replay rules and throttling (an approval where the
	// client requires one). It returns nil when the code is accepted.
	CheckCode func(ctx context.Context, user, credential, code string) error
	// InScope reports whether client c may ask about user (its allowed
	// groups); a user outside is answered as unknown. Nil allows all.
	InScope func(ctx context.Context, c oidc.Client, user string) (bool, error)
	// Interval is a new request's polling interval (DefaultInterval).
	Interval time.Duration
	// MaxExpiry caps requested_expiry (DefaultMaxExpiry); DefaultExpiry,
	// or MaxExpiry if shorter, applies when the client asks none.
	MaxExpiry time.Duration
	// MaxWait bounds a device's long poll (20 s); keep it below the
	// server's request timeout.
	MaxWait time.Duration
	// MaxBody limits request bodies (64 KiB).
	MaxBody int64
}

// Service is the CIBA grant, the backchannel endpoint and the device API.
type Service struct {
	cfg   Config
	store Store
	p     *oidc.Provider
	now   func() time.Time
	log   *slog.Logger
	wake  waiters
}

// New returns the service. Register it with the provider as a grant.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Provider == nil || cfg.CheckCode == nil {
		return nil, errors.New("ciba: config needs a Store, a Provider and CheckCode")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audit == nil {
		cfg.Audit = func(Event) {}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxExpiry <= 0 {
		cfg.MaxExpiry = DefaultMaxExpiry
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 20 * time.Second
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = oidc.DefaultMaxBody
	}
	return &Service{cfg: cfg, store: cfg.Store, p: cfg.Provider, now: cfg.Now, log: cfg.Logger,
		wake: waiters{m: map[string]chan struct{}{}}}, nil
}

// waiters wakes the long polls of one user's devices on this instance.
type waiters struct {
	mu sync.Mutex
	m  map[string]chan struct{} // closed and replaced on each new request
}

func (w *waiters) wait(user string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.m[user]
	if !ok {
		ch = make(chan struct{})
		w.m[user] = ch
	}
	return ch
}

func (w *waiters) notify(user string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ch, ok := w.m[user]; ok {
		close(ch)
		delete(w.m, user)
	}
}
