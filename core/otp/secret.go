package otp

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
)

// Secret is the shared key of an OTP account. It prints as REDACTED in
// every fmt verb and in slog, so it cannot leak through a log line or an
// error message by accident; use [Secret.Base32] to show it on purpose.
type Secret []byte

// String returns "REDACTED".
func (Secret) String() string { return "REDACTED" }

// GoString returns "REDACTED", for %#v.
func (Secret) GoString() string { return "REDACTED" }

// Format prints "REDACTED" for every verb, including %x and %v.
func (Secret) Format(f fmt.State, _ rune) { f.Write([]byte("REDACTED")) }

// LogValue returns "REDACTED".
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Base32 returns the secret in upper-case base32 without padding, the form
// used in otpauth URIs.
func (s Secret) Base32() string { return EncodeSecret(s) }

// Wipe overwrites the secret's bytes with zeros.
func (s Secret) Wipe() { clear(s) }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a random secret of the algorithm's recommended size
// (20, 32 or 64 bytes) from crypto/rand.
func NewSecret(a Algorithm) (Secret, error) {
	return NewSecretSize(a.SecretSize())
}

// NewSecretSize returns n random bytes from crypto/rand. n must be at least
// 16 (128 bits, RFC 4226 R6).
func NewSecretSize(n int) (Secret, error) {
	if n < 16 || n > MaxSecretSize {
		return nil, fmt.Errorf("otp: secret size %d outside 16..%d bytes", n, MaxSecretSize)
	}
	s := make(Secret, n)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("otp: random secret: %w", err)
	}
	return s, nil
}

// EncodeSecret encodes b as upper-case base32 without padding.
func EncodeSecret(b []byte) string { return b32.EncodeToString(b) }

// DecodeSecret decodes base32 as people and apps write it: any case, with
// or without padding, with spaces, tabs or dashes between groups. An empty
// or undecodable input returns an error wrapping [ErrSecret] that says why
// without repeating the input.
func DecodeSecret(s string) (Secret, error) {
	if len(s) > MaxSecretSize*2 {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrSecret, MaxSecretSize)
	}
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '-' || c == '\n' || c == '\r':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c == '=':
			continue
		case (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'):
		case c == '0' || c == '1' || c == '8' || c == '9':
			return nil, fmt.Errorf("%w: character %d is a digit base32 does not use (only 2-7 are)", ErrSecret, i+1)
		default:
			return nil, fmt.Errorf("%w: character %d is not base32 (A-Z, 2-7)", ErrSecret, i+1)
		}
		clean = append(clean, c)
	}
	if len(clean) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrSecret)
	}
	switch len(clean) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("%w: %d base32 characters is not a whole number of bytes", ErrSecret, len(clean))
	}
	out := make(Secret, b32.DecodedLen(len(clean)))
	n, err := b32.Decode(out, clean)
	if err != nil {
		return nil, fmt.Errorf("%w: not valid base32", ErrSecret)
	}
	out = out[:n]
	if len(out) > MaxSecretSize {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrSecret, MaxSecretSize)
	}
	return out, nil
}

// The one rule for short secrets, for every face that adds an account
// (the desktop app, the TUI, the CLI): [CheckSecret] refuses a secret
// under MinSecretBits and warns under GoodSecretBits, in the same words
// everywhere. RFC 4226 (R6) asks for at least 128 bits; some services
// still issue 80 (16 base32 characters), so 80 is added with a warning.
const (
	MinSecretBits  = 80
	GoodSecretBits = 128
)

// ErrSecretTooShort is wrapped by [CheckSecret]'s error; its text is
// written for the user, as it is shown.
var ErrSecretTooShort = errors.New("the secret is too short")

// CheckSecret applies the rule for short secrets to s: an error wrapping
// [ErrSecretTooShort] under MinSecretBits ("the secret is too short: 64
// bits, at least 80 needed"), else a warning under GoodSecretBits ("the
// secret is only 80 bits; 128 or more is recommended (RFC 4226)"), else
// neither. Show either as it is; neither names the secret.
func CheckSecret(s Secret) (warning string, err error) {
	bits := 8 * len(s)
	switch {
	case bits < MinSecretBits:
		return "", fmt.Errorf("%w: %d bits, at least %d needed", ErrSecretTooShort, bits, MinSecretBits)
	case bits < GoodSecretBits:
		return fmt.Sprintf("the secret is only %d bits; %d or more is recommended (RFC 4226)", bits, GoodSecretBits), nil
	}
	return "", nil
}
