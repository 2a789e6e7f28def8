package server

import (
	"context"
	"errors"
	"time"

	"latchkey/server/oidc"
	"latchkey/server/oidc/grants/ciba"
	"latchkey/server/oidc/grants/emailotp"
)

// Errors returned by a [Store]. They never contain a secret or a code.
var (
	ErrNotFound = oidc.ErrNotFound
	ErrExists   = errors.New("already exists")
	// ErrStale: a code was checked against credentials that changed
	// since they were read (see Check.Credentials).
	ErrStale = errors.New("credentials changed; read them again")
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
	// Label is the account name authenticator apps show; empty means
	// the user id (see Credential.Account).
	Label string
}

// Account is the otpauth account name of the credential: its label, or
// the user id when it has none.
func (c Credential) Account() string {
	if c.Label != "" {
		return c.Label
	}
	return c.User
}

// Client is an application: it calls /api/v1/verify and the token
// endpoint. The OpenID provider owns the type (see oidc.Client).
type Client = oidc.Client

// UserState is the throttling state of a user: consecutive failures, the
// end of the current lock (zero when never locked) and the number of locks
// since the last success, which sets the next lock's length.
type UserState struct {
	Failures    int
	LockedUntil time.Time
	Lockouts    int
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

// Lockout tells the store when and how long to lock a user.
type Lockout struct {
	// MaxFailures is the number of consecutive failures that locks the user.
	MaxFailures int
	// Base is the first lock's length; each further lock doubles it.
	Base time.Duration
	// Max caps a lock's length.
	Max time.Duration
}

// duration is the length of the user's n-th consecutive lock (n >= 1):
// Base doubled n-1 times, at most Max.
func (l Lockout) duration(n int) time.Duration {
	d := l.Base
	for i := 1; i < n && d < l.Max; i++ {
		d *= 2
	}
	return min(d, l.Max)
}

// fail is the state a failure leaves after st at now, and whether that
// failure locks the user: the one reaching MaxFailures and each after it
// lock for the next step of the back-off.
func (l Lockout) fail(st UserState, now time.Time) (UserState, bool) {
	st.Failures++
	if st.Failures < l.MaxFailures {
		return st, false
	}
	st.Lockouts++
	st.LockedUntil = now.Add(l.duration(st.Lockouts))
	return st, true
}

// Check is what a code check found, for [Store.Attempt].
type Check struct {
	// Credential is the credential whose code matched; empty when none did.
	Credential string
	// Step is the matched code's time step.
	Step int64
	// Confirm is set when Credential is an unverified one being confirmed
	// (its first code); a confirmation that does not take counts as a
	// failure.
	Confirm bool
	// Event goes to the audit log with an accepted step, in its transaction.
	Event Event
	// Credentials, when set, are the ids of the verified credentials the
	// code was checked against, as VerifiedCredentials returned them. A
	// store whose VerifiedCredentials may answer from memory while other
	// instances write (PostgreSQL) compares them with the user's verified
	// credentials under the user's lock, and answers ErrStale when they
	// differ: the caller reads them again and retries.
	Credentials []string
}

// LoginAttempt is the answer of [Store.BeginLogin].
type LoginAttempt struct {
	Allowed bool
	N       int       // consecutive failures from the source, this attempt included
	RetryAt time.Time // when a refused source may try again
}

// Outcomes of [Store.Attempt].
const (
	AttemptAccepted = iota // the step was recorded; failures reset
	AttemptReplayed        // the code matched a step already used
	AttemptFailed          // a failure was counted (maybe locking the user)
	AttemptLocked          // the user is locked; the code was not checked
)

// AttemptResult is the answer of [Store.Attempt].
type AttemptResult struct {
	Outcome int
	// State is the user's state after the attempt.
	State UserState
	// NewLock is set when this attempt's failure locked the user.
	NewLock bool
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
	// The email code grant's challenges and per-address limits (sqlemail.go).
	emailotp.Store
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
	// step, if step is after its last step, and resets the user's
	// failures. It reports whether it did; when it did, ev is in the audit
	// log in the same transaction.
	Confirm(ctx context.Context, user, id string, step int64, now time.Time, ev Event) (bool, error)
	// Accept records step as the last accepted step of a verified
	// credential if it is after the stored one and the user is not locked
	// at now, and resets the user's failures and locks. It reports whether
	// this call won; of concurrent calls with one step, exactly one does.
	// When it won, ev is in the audit log in the same transaction, so an
	// accepted code is never missing from the log.
	Accept(ctx context.Context, user, id string, step int64, now time.Time, ev Event) (bool, error)
	// UserState returns the throttling state of user.
	UserState(ctx context.Context, user string) (UserState, error)
	// Attempt checks a code for user as one atomic step: with the user's
	// throttling state locked (a row lock on PostgreSQL, so across
	// instances too; the one writer on SQLite), it refuses a user locked
	// at now without calling check, else calls check and records its
	// result: a matched step by compare-and-set (Confirm or Accept, with
	// c.Event, failures and locks reset), or a failure, the one reaching
	// l.MaxFailures (and each one after it) locking the user for the next
	// step of the back-off. So at most MaxFailures wrong codes are ever
	// checked before a lock, however many requests arrive at once.
	Attempt(ctx context.Context, user string, now time.Time, l Lockout, check func() (Check, error)) (AttemptResult, error)

	// Unlock resets user's failures, lock and back-off, and returns the
	// state it replaced (administration, sqladmin.go).
	Unlock(ctx context.Context, user string) (UserState, error)
	// SetUserGroups replaces user's groups; UserGroups lists them.
	SetUserGroups(ctx context.Context, user string, groups []string) error
	UserGroups(ctx context.Context, user string) ([]string, error)
	// Recovery codes (sqlrecovery.go): SetRecoveryCodes replaces a
	// user's set; RecoveryCodeHash reads an unused code's hash (nil when
	// none); UseRecoveryCode spends one under the user's throttling, as
	// Attempt does; RecoveryCodesLeft counts the unused ones.
	SetRecoveryCodes(ctx context.Context, user string, codes []RecoveryCode, ev Event) error
	RecoveryCodeHash(ctx context.Context, user, id string) ([]byte, error)
	UseRecoveryCode(ctx context.Context, user, id string, now time.Time, l Lockout, ev Event) (AttemptResult, int, error)
	RecoveryCodesLeft(ctx context.Context, user string) (int, error)

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

	// CreateSession stores a helpdesk session and drops the sessions
	// that expired before now.
	CreateSession(ctx context.Context, hs HelpdeskSession, now time.Time) error
	// Session returns the helpdesk session with hash, or ErrNotFound.
	Session(ctx context.Context, hash []byte) (HelpdeskSession, error)
	// DeleteSession ends a helpdesk session (sign-out).
	DeleteSession(ctx context.Context, hash []byte) error

	// BeginLogin counts a helpdesk sign-in attempt from source (an
	// address) before its secret is checked; it is refused while the
	// source's sign-in is closed. Past free attempts it closes sign-in
	// for maxDelay until EndLogin sets the real delay.
	BeginLogin(ctx context.Context, source string, now time.Time, free int, maxDelay time.Duration) (LoginAttempt, error)
	// EndLogin finishes an allowed attempt: a success forgets source's
	// failures; a failure keeps sign-in closed until closedUntil (zero
	// when still free).
	EndLogin(ctx context.Context, source string, ok bool, closedUntil time.Time) error

	// Ping checks that the database answers and takes a write.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error
}
