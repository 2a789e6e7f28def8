package server

import (
	"context"
	"errors"
	"time"

	"latchkey/server/oidc"
	"latchkey/server/oidc/grants/ciba"
)

// Errors returned by a [Store]. They never contain a secret or a code.
var (
	ErrNotFound = oidc.ErrNotFound
	ErrExists   = errors.New("already exists")
)

// Credential is one TOTP credential of a user as stored. Secret holds the
// AES-256-GCM ciphertext (see [Keyring]); the plaintext never reaches the
// database.
type Credential struct {
	ID        string
	User      string
	Name      string
	Issuer    string
	Algorithm string // SHA1, SHA256 or SHA512
	Digits    int
	Period    int
	Secret    []byte // sealed
	Verified  bool
	Created   time.Time
	Expires   time.Time // zero once verified
	LastStep  int64     // the last accepted time step; -1 when none
	LastUsed  time.Time // zero when never used
}

// Client is an application: it calls /api/v1/verify and the token
// endpoint. The OpenID provider owns the type (see oidc.Client).
type Client = oidc.Client

// UserState is the throttling state of a user: consecutive failures and
// the end of the current lock (zero when not locked).
type UserState struct {
	Failures    int
	LockedUntil time.Time
}

// Event is one row of the audit log.
type Event struct {
	Time       time.Time `json:"time"`
	User       string    `json:"user"`
	Credential string    `json:"credential_id,omitempty"`
	Client     string    `json:"client,omitempty"`
	Action     string    `json:"action"`
	Outcome    string    `json:"outcome"`
}

// Lockout tells RecordFailure when and how long to lock a user.
type Lockout struct {
	// MaxFailures is the number of consecutive failures that locks the user.
	MaxFailures int
	// Base is the first lock's length; each further failure doubles it.
	Base time.Duration
	// Max caps a lock's length.
	Max time.Duration
}

// duration is the lock for the given consecutive failure count, or zero
// below the threshold.
func (l Lockout) duration(failures int) time.Duration {
	if failures < l.MaxFailures {
		return 0
	}
	d := l.Base
	for i := l.MaxFailures; i < failures && d < l.Max; i++ {
		d *= 2
	}
	return min(d, l.Max)
}

// Store is the server's persistent state. Two implementations pass one
// test suite: SQLite ([OpenSQLite]) for a single instance and PostgreSQL
// ([OpenPostgres]) for several instances sharing one database.
//
// Every state change that guards a code (the last accepted step, the
// failure count, the lock) is a single conditional statement or
// transaction in SQL, so concurrent requests, also from several processes,
// cannot both win.
type Store interface {
	// The clients, signing keys and client-assertion jtis of the OpenID
	// provider (sqloidc.go).
	oidc.Store
	// CIBA requests, paired devices and client settings (sqlciba.go).
	ciba.Store
	// CreatePairingLink, PairingLink and RedeemPairingLink keep the
	// pairing links (pairing.go), as the enrollment links below.
	CreatePairingLink(ctx context.Context, l Link, sweepBefore time.Time) error
	PairingLink(ctx context.Context, hash []byte, now time.Time) (Link, error)
	RedeemPairingLink(ctx context.Context, hash []byte, now time.Time) (bool, error)

	// CreateCredential adds a credential (with an event in the same
	// transaction) and returns once it is committed.
	CreateCredential(ctx context.Context, c Credential, ev Event) error
	// Credential returns one credential of user, or ErrNotFound.
	Credential(ctx context.Context, user, id string) (Credential, error)
	// Credentials lists user's credentials, oldest first. Unverified ones
	// that expired before now are left out.
	Credentials(ctx context.Context, user string, now time.Time) ([]Credential, error)
	// VerifiedCredentials returns user's verified credentials and the
	// user's throttling state in one read.
	VerifiedCredentials(ctx context.Context, user string) ([]Credential, UserState, error)
	// RenameCredential changes a credential's name.
	RenameCredential(ctx context.Context, user, id, name string) error
	// DeleteCredential removes a credential.
	DeleteCredential(ctx context.Context, user, id string) error
	// DeleteExpired removes unverified credentials that expired before now.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)

	// Confirm marks an unverified, unexpired credential verified and burns
	// step, if step is after its last step. It reports whether it did.
	Confirm(ctx context.Context, user, id string, step int64, now time.Time) (bool, error)
	// Accept records step as the last accepted step of a verified
	// credential if it is after the stored one and the user is not locked
	// at now, and resets the user's failures. It reports whether this call
	// won; of concurrent calls with one step, exactly one does.
	Accept(ctx context.Context, user, id string, step int64, now time.Time) (bool, error)
	// UserState returns the throttling state of user.
	UserState(ctx context.Context, user string) (UserState, error)
	// RecordFailure counts a failed attempt and locks the user per l.
	RecordFailure(ctx context.Context, user string, now time.Time, l Lockout) (UserState, error)

	// Audit appends events to the audit log.
	Audit(ctx context.Context, evs ...Event) error
	// AuditLog returns the newest events of user (all users when empty),
	// newest first.
	AuditLog(ctx context.Context, user string, limit int) ([]Event, error)

	// Reseal rewrites every credential's sealed secret with fn in one
	// transaction (key rotation). It returns the number rewritten.
	Reseal(ctx context.Context, fn func(user, id string, sealed []byte) ([]byte, error)) (int, error)

	// CreateLink stores an enrollment link (see links.go), replacing any
	// other link of its credential and dropping links that expired before
	// sweepBefore.
	CreateLink(ctx context.Context, l Link, sweepBefore time.Time) error
	// RedeemLink marks the unredeemed link with hash, unexpired at now,
	// redeemed and returns it, or ErrNotFound; of concurrent calls exactly
	// one wins.
	RedeemLink(ctx context.Context, hash []byte, now time.Time) (Link, error)
	// Link returns the link with hash, redeemed or not, or ErrNotFound.
	Link(ctx context.Context, hash []byte) (Link, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
