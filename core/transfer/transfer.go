// Package transfer reads and writes the formats accounts travel in between
// authenticators: otpauth URI lists, Google Authenticator's
// otpauth-migration:// export, QR images, Aegis vaults (plain and
// encrypted), 2FAS backups (plain and encrypted) and Latchkey's own
// age-encrypted backups. It also reads andOTP backups (plain and
// encrypted), FreeOTP+, Ente Auth and Authenticator Pro exports, and the
// one-time codes in Bitwarden, Proton Pass and KeePassXC exports.
//
// Parsers take bytes and return neutral [Entry] values; they never touch
// the account store, so an import can be checked completely before
// anything is written. Input is capped at [MaxInput] bytes, every parser
// returns an error instead of panicking, and errors name the entry and
// the problem without ever containing a secret.
package transfer

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// MaxInput is the largest input Read accepts. Aegis vaults with icons can
// reach a few MiB; nothing legitimate comes near this.
const MaxInput = 32 << 20

// MaxEntries bounds the number of accounts in one input.
const MaxEntries = 10000

// Errors wrapped by this package's errors.
var (
	// ErrFormat means the input is not in a format this package reads (or
	// not in the one that was asked for).
	ErrFormat = errors.New("unrecognized import format")
	// ErrPassphrase means an encrypted input did not open with the
	// passphrase given.
	ErrPassphrase = errors.New("wrong password")
	// ErrNeedPassphrase means the input is encrypted and no passphrase
	// source was given.
	ErrNeedPassphrase = errors.New("the file is encrypted and needs a password")
	// ErrTooLarge means the input exceeds a size limit.
	ErrTooLarge = errors.New("input too large")
	// ErrCorrupt means the input is in a known format but damaged.
	ErrCorrupt = errors.New("damaged or invalid file")
)

// Entry is one account as a transfer format carries it.
type Entry struct {
	// Key holds the type, issuer, account name, secret and code
	// parameters. For an unsupported entry, only what could be read is
	// set (at least the issuer and name when the format has them).
	Key otpauth.Key
	// Tags are the groups or tags the format gives the account.
	Tags []string
	// ID is the account's id in the store it was exported from (Latchkey
	// backups; empty elsewhere), so that a restore keeps it.
	ID string
	// Order is the account's position (Latchkey backups; 0 elsewhere).
	Order int
	// Created is when the account was added (Latchkey backups; zero
	// elsewhere).
	Created time.Time
	// Unsupported, when not empty, says why Latchkey cannot use the
	// entry (for example "MD5 is not supported"); such entries are
	// reported, never imported.
	Unsupported string
}

// Label returns "Issuer:Name" or the name alone.
func (e *Entry) Label() string { return e.Key.Label() }

// EntryError is a problem with one entry of an input. Its message names
// the entry by position and label and never contains the secret.
type EntryError struct {
	Where string // "entry 3", "line 7", "QR code 2"
	Label string // "Issuer:Name" when known
	Err   error
}

func (e *EntryError) Error() string {
	if e.Label != "" {
		return fmt.Sprintf("%s (%s): %v", e.Where, e.Label, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Where, e.Err)
}

// Unwrap returns the underlying problem.
func (e *EntryError) Unwrap() error { return e.Err }

// Skipped is an entry a writer left out because the format cannot carry
// it, and why.
type Skipped struct {
	Label  string
	Reason string
}

// check validates the code parameters of a supported entry, turning those
// Latchkey cannot generate into an Unsupported reason and malformed ones
// into an error. It fills defaults for zero digits and period.
func check(e *Entry) error {
	if e.Unsupported != "" {
		return nil
	}
	k := &e.Key
	if len(k.Secret) == 0 {
		return errors.New("the secret is empty")
	}
	if len(k.Secret) > otp.MaxSecretSize {
		return fmt.Errorf("the secret is longer than %d bytes", otp.MaxSecretSize)
	}
	if k.Digits == 0 {
		k.Digits = otp.DefaultDigits
		if k.Type == otp.Steam {
			k.Digits = otp.SteamDigits
		}
	}
	if k.Period == 0 {
		k.Period = otp.DefaultPeriod
	}
	switch {
	case !k.Type.Valid():
		e.Unsupported = "unknown type"
	case !k.Algorithm.Valid():
		e.Unsupported = "unknown algorithm"
	case k.Type == otp.Steam && k.Digits != otp.SteamDigits:
		e.Unsupported = fmt.Sprintf("%d-character Steam codes are not supported (5 are)", k.Digits)
	case k.Type != otp.Steam && (k.Digits < otp.MinDigits || k.Digits > otp.MaxDigits):
		e.Unsupported = fmt.Sprintf("%d-digit codes are not supported (6 to 8 are)", k.Digits)
	case k.Type.TimeBased() && (k.Period < otp.MinPeriod || k.Period > otp.MaxPeriod):
		e.Unsupported = fmt.Sprintf("a period of %d seconds is not supported (1 to 3600 are)", k.Period)
	}
	return nil
}

// clip shortens an input value quoted in an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// tooMany is the error for inputs over MaxEntries.
func tooMany() error {
	return fmt.Errorf("%w: more than %d accounts", ErrTooLarge, MaxEntries)
}

// Supported returns the entries without an Unsupported reason.
func Supported(entries []Entry) []Entry {
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if e.Unsupported == "" {
			out = append(out, e)
		}
	}
	return out
}

// trimLabel removes "issuer:" from the front of name when it repeats the
// issuer, as some apps store the whole label as the name.
func trimLabel(issuer, name string) string {
	if issuer == "" {
		return strings.TrimSpace(name)
	}
	if rest, ok := strings.CutPrefix(name, issuer+":"); ok {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(name)
}
