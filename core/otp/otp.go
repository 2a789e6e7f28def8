// Package otp computes and verifies one-time passwords: HOTP (RFC 4226)
// and TOTP (RFC 6238) with HMAC-SHA1, HMAC-SHA256 or HMAC-SHA512 and 6 to 8
// digits, and Steam Guard codes (TOTP written as 5 characters of
// [SteamAlphabet]).
//
// The math is pure: every function takes the counter or the time it works
// on, and nothing here reads the clock. A [Generator] prepares the HMAC for
// one secret once, so that computing and verifying codes on a hot path
// allocates nothing.
package otp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Errors returned by this package. They never contain a secret or a code.
var (
	ErrAlgorithm = errors.New("otp: unsupported algorithm")
	ErrDigits    = errors.New("otp: digits must be 6, 7 or 8 (5 for steam)")
	ErrPeriod    = errors.New("otp: period must be between 1 and 3600 seconds")
	ErrSecret    = errors.New("otp: invalid secret")
	ErrType      = errors.New("otp: type must be totp, hotp or steam")
)

// Limits on parameters, as accepted by authenticator apps.
const (
	MinDigits = 6
	MaxDigits = 8
	MinPeriod = 1
	MaxPeriod = 3600
	// MaxWindow is the largest verification window, in steps either side,
	// that Verify accepts; RFC 6238 §5.2 recommends at most one.
	MaxWindow = 2
	// MaxSecretSize bounds a secret's length in bytes. It is generous (four
	// times the largest hash block) yet keeps a hostile input from costing
	// more than a hash block of work per code.
	MaxSecretSize = 512
)

// Defaults used when an [Options] field is zero.
const (
	DefaultDigits = 6
	DefaultPeriod = 30
)

// Steam Guard codes: the RFC 6238 value (31 bits after RFC 4226 dynamic
// truncation) written least significant first in base 26 over
// SteamAlphabet, SteamDigits characters long. Steam uses HMAC-SHA1 and a
// 30 second period.
const (
	SteamAlphabet = "23456789BCDFGHJKMNPQRTVWXY"
	SteamDigits   = 5
)

// Algorithm is the HMAC hash function of an OTP key.
type Algorithm uint8

// The supported algorithms. The zero value is SHA1, the RFC 4226 default.
const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

// String returns the name used in otpauth URIs: SHA1, SHA256 or SHA512.
func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm accepts SHA1, SHA256 or SHA512 in any case, with or
// without a dash ("sha-256").
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "")) {
	case "SHA1":
		return SHA1, nil
	case "SHA256":
		return SHA256, nil
	case "SHA512":
		return SHA512, nil
	}
	return 0, ErrAlgorithm
}

// Valid reports whether a is one of the supported algorithms.
func (a Algorithm) Valid() bool { return a <= SHA512 }

// MarshalText encodes a as its name, for JSON and similar formats.
func (a Algorithm) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, ErrAlgorithm
	}
	return []byte(a.String()), nil
}

// UnmarshalText decodes a name accepted by [ParseAlgorithm].
func (a *Algorithm) UnmarshalText(b []byte) error {
	v, err := ParseAlgorithm(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Hash returns the constructor of the algorithm's hash function.
func (a Algorithm) Hash() func() hash.Hash {
	switch a {
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return sha1.New
}

// SecretSize is the default secret length in bytes for the algorithm: the
// size of its hash output (20, 32 or 64), as RFC 4226 R6 and RFC 6238
// recommend.
func (a Algorithm) SecretSize() int {
	switch a {
	case SHA256:
		return 32
	case SHA512:
		return 64
	}
	return 20
}

// Type tells counter-based (HOTP) from time-based (TOTP, Steam) keys.
type Type uint8

// The key types. The zero value is TOTP, which is what almost every service
// issues. Steam is TOTP whose codes are written with SteamAlphabet; its
// generators take Options with Steam set.
const (
	TOTP Type = iota
	HOTP
	Steam
)

// String returns "totp", "hotp" or "steam", as in otpauth URIs.
func (t Type) String() string {
	switch t {
	case TOTP:
		return "totp"
	case HOTP:
		return "hotp"
	case Steam:
		return "steam"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// ParseType accepts "totp", "hotp" or "steam" in any case.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "totp":
		return TOTP, nil
	case "hotp":
		return HOTP, nil
	case "steam":
		return Steam, nil
	}
	return 0, ErrType
}

// Valid reports whether t is one of the supported types.
func (t Type) Valid() bool { return t <= Steam }

// TimeBased reports whether codes of t change with the time (TOTP and
// Steam) rather than with a counter (HOTP).
func (t Type) TimeBased() bool { return t == TOTP || t == Steam }

// MarshalText encodes t as "totp", "hotp" or "steam".
func (t Type) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, ErrType
	}
	return []byte(t.String()), nil
}

// UnmarshalText decodes "totp", "hotp" or "steam".
func (t *Type) UnmarshalText(b []byte) error {
	v, err := ParseType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Options are the parameters of a key other than its secret. The zero value
// means SHA1, 6 digits and a 30 second period.
type Options struct {
	// Algorithm is the HMAC hash; the zero value is SHA1.
	Algorithm Algorithm
	// Digits is the code length, 6 to 8; zero means 6 (SteamDigits, the
	// only length allowed, with Steam).
	Digits int
	// Period is the TOTP time step in seconds, 1 to 3600; zero means 30.
	// HOTP ignores it.
	Period int
	// Steam writes codes as Steam Guard codes: SteamDigits characters of
	// SteamAlphabet instead of decimal digits (set it for Type Steam).
	Steam bool
}

// withDefaults fills zero fields and validates the rest.
func (o Options) withDefaults() (Options, error) {
	if o.Digits == 0 {
		o.Digits = DefaultDigits
		if o.Steam {
			o.Digits = SteamDigits
		}
	}
	if o.Period == 0 {
		o.Period = DefaultPeriod
	}
	if !o.Algorithm.Valid() {
		return o, ErrAlgorithm
	}
	if o.Steam {
		if o.Digits != SteamDigits {
			return o, ErrDigits
		}
	} else if o.Digits < MinDigits || o.Digits > MaxDigits {
		return o, ErrDigits
	}
	if o.Period < MinPeriod || o.Period > MaxPeriod {
		return o, ErrPeriod
	}
	return o, nil
}

// Validate reports whether the options (after defaults) are supported.
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}

// Step returns the RFC 6238 time step of t for a period in seconds:
// floor(unix(t) / period). Times before the Unix epoch map to step 0.
func Step(t time.Time, period int) uint64 {
	if period <= 0 {
		period = DefaultPeriod
	}
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint64(s) / uint64(period)
}

// Remaining returns how long the code valid at t stays valid, for a period
// in seconds; it is always in (0, period].
func Remaining(t time.Time, period int) time.Duration {
	if period <= 0 {
		period = DefaultPeriod
	}
	p := time.Duration(period) * time.Second
	start := time.Unix(int64(Step(t, period))*int64(period), 0)
	return p - t.Sub(start)
}

// HOTPCode returns the RFC 4226 code of secret at counter.
func HOTPCode(secret []byte, counter uint64, opts Options) (string, error) {
	g, err := NewGenerator(secret, opts)
	if err != nil {
		return "", err
	}
	return g.Code(counter), nil
}

// TOTPCode returns the RFC 6238 code of secret at time t.
func TOTPCode(secret []byte, t time.Time, opts Options) (string, error) {
	g, err := NewGenerator(secret, opts)
	if err != nil {
		return "", err
	}
	return g.At(t), nil
}
