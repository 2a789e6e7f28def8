// Package otpauth parses and formats otpauth Key URIs, the format that
// authenticator apps scan from QR codes:
//
//	otpauth://totp/ACME%20Co:alice@example.com?secret=JBSWY3DPEHPK3PXP&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30
//	otpauth://hotp/Example:bob?secret=JBSWY3DPEHPK3PXP&counter=0
//	otpauth://steam/Steam:carol?secret=JBSWY3DPEHPK3PXP&issuer=Steam&algorithm=SHA1&digits=5&period=30
//
// Steam Guard keys come as otpauth://steam/ (Aegis) or as
// otpauth://totp/...&encoder=steam (KeePassXC and others); both parse to
// Type otp.Steam, which String writes as otpauth://steam/.
//
// Parsing is lenient where apps differ (lower-case, padded or spaced
// base32; the issuer from the parameter or the label prefix; unknown
// parameters ignored) and strict where a wrong guess would produce wrong
// codes (bad base32, digits outside 6..8, unknown algorithms, a zero
// period, a HOTP key without a counter): each of those is an error naming
// the field. Formatting writes every parameter explicitly and encodes
// spaces as %20, and Parse(k.String()) returns k.
package otpauth

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"latchkey/core/otp"
)

// ErrInvalidURI is wrapped by every parse error.
var ErrInvalidURI = errors.New("invalid otpauth URI")

// MaxLen is the longest URI Parse accepts. Real ones are well under 1 KiB.
const MaxLen = 8 << 10

// Key is an OTP account as an otpauth URI describes it.
type Key struct {
	Type      otp.Type
	Issuer    string // may be empty
	Account   string // the account name, e.g. an e-mail address; may be empty
	Secret    otp.Secret
	Algorithm otp.Algorithm
	Digits    int    // 6..8 (5 for Steam)
	Period    int    // seconds, TOTP only (30 for HOTP keys, unused)
	Counter   uint64 // HOTP only

	// Warnings are set by Parse for things worth telling a user that do not
	// stop the key from working, such as an issuer parameter that differs
	// from the label's prefix. String does not encode them.
	Warnings []string
}

// FieldError is a parse error in one field of the URI. Its message names
// the field and never contains the secret.
type FieldError struct {
	Field  string // "scheme", "type", "label", "secret", "algorithm", "digits", "period", "counter", "encoder"
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid otpauth URI: %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrInvalidURI.
func (e *FieldError) Unwrap() error { return ErrInvalidURI }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Options returns the code parameters of k.
func (k *Key) Options() otp.Options {
	return otp.Options{Algorithm: k.Algorithm, Digits: k.Digits, Period: k.Period, Steam: k.Type == otp.Steam}
}

// Generator returns a prepared code generator for k.
func (k *Key) Generator() (*otp.Generator, error) {
	return otp.NewGenerator(k.Secret, k.Options())
}

// Label returns "Issuer:Account", or the account alone without an issuer.
func (k *Key) Label() string {
	if k.Issuer == "" {
		return k.Account
	}
	return k.Issuer + ":" + k.Account
}

// Parse parses an otpauth URI. Errors wrap ErrInvalidURI and, for a bad
// field, are *FieldError.
func Parse(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxLen {
		return nil, fieldErr("uri", "longer than %d bytes", MaxLen)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !strings.EqualFold(scheme, "otpauth") {
		if strings.HasPrefix(strings.ToLower(s), "otpauth-migration:") {
			return nil, fieldErr("scheme", "this is a Google Authenticator export (otpauth-migration://); import it instead")
		}
		return nil, fieldErr("scheme", "must start with otpauth://")
	}
	u, err := url.Parse("otpauth://" + rest)
	if err != nil {
		return nil, fieldErr("uri", "malformed: %s", describeURLError(err))
	}
	k := &Key{}
	k.Type, err = otp.ParseType(u.Host)
	if err != nil {
		return nil, fieldErr("type", "%q is not totp, hotp or steam", clip(u.Host))
	}
	if err := k.parseLabel(u); err != nil {
		return nil, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fieldErr("query", "malformed parameters")
	}
	if v, ok := q["encoder"]; ok {
		switch enc := strings.ToLower(strings.TrimSpace(v[0])); {
		case enc == "steam" && k.Type != otp.HOTP:
			k.Type = otp.Steam
		case enc == "steam":
			return nil, fieldErr("encoder", "steam codes are time-based, not hotp")
		case enc != "":
			return nil, fieldErr("encoder", "%q is not supported (steam is)", clip(v[0]))
		}
	}
	if err := k.parseParams(q); err != nil {
		return nil, err
	}
	return k, nil
}

// parseLabel reads "Issuer:Account" (the colon literal or %3A, spaces after
// it allowed) or a bare account.
func (k *Key) parseLabel(u *url.URL) error {
	raw := strings.TrimPrefix(u.EscapedPath(), "/")
	var prefix, account string
	hasPrefix := false
	if i := indexColon(raw); i >= 0 {
		hasPrefix = true
		sep := 1
		if raw[i] == '%' {
			sep = 3
		}
		prefix, account = raw[:i], raw[i+sep:]
	} else {
		account = raw
	}
	var err error
	if k.Account, err = url.PathUnescape(account); err != nil {
		return fieldErr("label", "bad percent-encoding")
	}
	if prefix, err = url.PathUnescape(prefix); err != nil {
		return fieldErr("label", "bad percent-encoding")
	}
	k.Account = strings.TrimSpace(k.Account)
	if hasPrefix {
		k.Issuer = strings.TrimSpace(prefix)
	}
	return nil
}

// indexColon finds the first literal or percent-encoded colon.
func indexColon(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return i
		}
		if s[i] == '%' && i+2 < len(s) && s[i+1] == '3' && (s[i+2] == 'A' || s[i+2] == 'a') {
			return i
		}
	}
	return -1
}

func (k *Key) parseParams(q url.Values) error {
	var err error
	secret := q.Get("secret")
	if strings.TrimSpace(secret) == "" {
		return fieldErr("secret", "missing")
	}
	if k.Secret, err = otp.DecodeSecret(secret); err != nil {
		return fieldErr("secret", "%s", strings.TrimPrefix(err.Error(), otp.ErrSecret.Error()+": "))
	}
	// Parsing is not adding: a secret too short to add (otp.CheckSecret,
	// whose words these are) is still read, for `code --uri`.
	if _, err := otp.CheckSecret(k.Secret); err != nil {
		k.Warnings = append(k.Warnings, err.Error())
	}

	if v, ok := q["issuer"]; ok {
		issuer := strings.TrimSpace(v[0])
		if k.Issuer != "" && issuer != "" && k.Issuer != issuer {
			k.Warnings = append(k.Warnings, fmt.Sprintf("the label says issuer %q but the issuer parameter says %q; using %q", k.Issuer, issuer, issuer))
		}
		if issuer != "" {
			k.Issuer = issuer
		}
	}

	if v := q.Get("algorithm"); v != "" {
		if k.Algorithm, err = otp.ParseAlgorithm(v); err != nil {
			return fieldErr("algorithm", "%q is not SHA1, SHA256 or SHA512", clip(v))
		}
	}

	k.Digits = k.digits()
	if v := q.Get("digits"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if k.Type == otp.Steam {
			if err != nil || n != otp.SteamDigits {
				return fieldErr("digits", "%q is not 5 (steam codes have 5 characters)", clip(v))
			}
		} else if err != nil || n < otp.MinDigits || n > otp.MaxDigits {
			return fieldErr("digits", "%q is not 6, 7 or 8", clip(v))
		}
		k.Digits = n
	}

	k.Period = otp.DefaultPeriod
	if v := q.Get("period"); v != "" && k.Type.TimeBased() {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < otp.MinPeriod || n > otp.MaxPeriod {
			return fieldErr("period", "%q is not a number of seconds from 1 to 3600", clip(v))
		}
		k.Period = n
	}

	if k.Type == otp.HOTP {
		v, ok := q["counter"]
		if !ok || strings.TrimSpace(v[0]) == "" {
			return fieldErr("counter", "missing (a hotp URI needs counter=N)")
		}
		if k.Counter, err = strconv.ParseUint(strings.TrimSpace(v[0]), 10, 64); err != nil {
			return fieldErr("counter", "%q is not a non-negative integer", clip(v[0]))
		}
	}
	return nil
}

// String formats k as an otpauth URI with every parameter explicit.
func (k *Key) String() string {
	var b strings.Builder
	b.WriteString("otpauth://")
	b.WriteString(k.Type.String())
	b.WriteByte('/')
	// A label prefix is written only when it can be read back unchanged:
	// an issuer containing a colon lives in the parameter alone, and an
	// account containing one gets an empty prefix so that its colon is
	// not taken for the separator.
	switch {
	case k.Issuer != "" && !strings.Contains(k.Issuer, ":") && k.Issuer == strings.TrimSpace(k.Issuer):
		b.WriteString(escape(k.Issuer))
		b.WriteByte(':')
	case strings.Contains(k.Account, ":"):
		b.WriteByte(':')
	}
	b.WriteString(escape(k.Account))
	b.WriteString("?secret=")
	b.WriteString(otp.EncodeSecret(k.Secret))
	if k.Issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(k.Issuer))
	}
	b.WriteString("&algorithm=")
	b.WriteString(k.Algorithm.String())
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(k.digits()))
	if k.Type == otp.HOTP {
		b.WriteString("&counter=")
		b.WriteString(strconv.FormatUint(k.Counter, 10))
	} else {
		b.WriteString("&period=")
		b.WriteString(strconv.Itoa(k.period()))
	}
	return b.String()
}

// Format keeps a Key's URI (which holds the secret) out of %v and %s; call
// String to get the URI on purpose.
func (k *Key) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "otpauth.Key{%s %q secret:REDACTED}", k.Type, k.Label())
}

func (k *Key) digits() int {
	if k.Digits == 0 {
		if k.Type == otp.Steam {
			return otp.SteamDigits
		}
		return otp.DefaultDigits
	}
	return k.Digits
}

func (k *Key) period() int {
	if k.Period == 0 {
		return otp.DefaultPeriod
	}
	return k.Period
}

// escape percent-encodes s for a path segment or a query value, with %20
// for spaces (Google Authenticator shows a literal '+').
func escape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// clip shortens a user-supplied value for an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

func describeURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return "cannot parse"
}
