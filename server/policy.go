package server

import (
	"errors"
	"fmt"
	"strings"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

// CredentialPolicy holds the defaults of new credentials, which a
// request may override per credential. Zero fields mean: SHA1, 6 digits,
// 30 seconds, and a secret as long as the algorithm's hash output (20,
// 32 or 64 bytes).
type CredentialPolicy struct {
	// Algorithm is sha1, sha256 or sha512 (any case).
	Algorithm string
	// Digits is 6 or 8 (7 is accepted; few apps show it).
	Digits int
	// Period is the time step in seconds, 10..300.
	Period int
	// SecretLength is the secret's length in bytes, MinSecretLength..
	// MaxSecretLength; zero means the algorithm's hash size.
	SecretLength int
}

// Bounds of a generated or imported secret: 128 bits at least (RFC 4226
// R6).
const (
	MinSecretLength = 16
	MaxSecretLength = otp.MaxSecretSize
)

func (p CredentialPolicy) withDefaults() (CredentialPolicy, error) {
	if p.Algorithm == "" {
		p.Algorithm = "SHA1"
	}
	a, err := otp.ParseAlgorithm(p.Algorithm)
	if err != nil {
		return p, fmt.Errorf("server: default_algorithm %q: want sha1, sha256 or sha512", p.Algorithm)
	}
	p.Algorithm = a.String()
	if p.Digits == 0 {
		p.Digits = otp.DefaultDigits
	}
	if p.Digits < otp.MinDigits || p.Digits > otp.MaxDigits {
		return p, fmt.Errorf("server: default_digits %d: want 6 or 8", p.Digits)
	}
	if p.Period == 0 {
		p.Period = otp.DefaultPeriod
	}
	if p.Period < 10 || p.Period > 300 {
		return p, fmt.Errorf("server: default_period %d outside 10..300 seconds", p.Period)
	}
	if p.SecretLength != 0 && (p.SecretLength < MinSecretLength || p.SecretLength > MaxSecretLength) {
		return p, fmt.Errorf("server: default_secret_length %d outside %d..%d bytes", p.SecretLength, MinSecretLength, MaxSecretLength)
	}
	return p, nil
}

// credentialParams are a new credential's settings once the request and
// the policy are merged.
type credentialParams struct {
	alg            otp.Algorithm
	digits, period int
	issuer, label  string
	// secret is the imported secret; nil when one is to be generated
	// with secretLen bytes.
	secret    otp.Secret
	secretLen int
}

// params merges req over the policy and validates the result. Imported
// secrets (secret or otpauth_uri) bring their own settings; a request
// field that contradicts the URI is refused rather than guessed.
func (p CredentialPolicy) params(req EnrollRequest) (credentialParams, error) {
	var cp credentialParams
	if req.Secret != "" && req.OTPAuthURI != "" {
		return cp, invalidf("give secret or otpauth_uri, not both")
	}
	imported := req.Secret != "" || req.OTPAuthURI != ""
	if imported && req.SecretLength != 0 {
		return cp, invalidf("secret_length is for generated secrets; an imported secret keeps its length")
	}
	if req.Verified && !imported {
		return cp, invalidf("verified is only for an imported secret (secret or otpauth_uri)")
	}
	var key *otpauth.Key
	if req.OTPAuthURI != "" {
		k, err := otpauth.Parse(req.OTPAuthURI)
		if err != nil {
			var fe *otpauth.FieldError
			if errors.As(err, &fe) {
				return cp, invalidf("otpauth_uri: %s", fe.Error())
			}
			return cp, invalidf("otpauth_uri is not a valid otpauth URI")
		}
		if k.Type != otp.TOTP {
			return cp, invalidf("otpauth_uri must be a totp key")
		}
		key = k
	}
	alg, err := otp.ParseAlgorithm(p.Algorithm)
	if err != nil {
		alg = otp.SHA1
	}
	digits, period := p.Digits, p.Period
	if key != nil {
		alg, digits, period = key.Algorithm, key.Digits, key.Period
	}
	if req.Algorithm != "" {
		a, err := otp.ParseAlgorithm(req.Algorithm)
		if err != nil {
			return cp, invalidf("algorithm must be SHA1, SHA256 or SHA512")
		}
		if key != nil && a != alg {
			return cp, invalidf("algorithm differs from the otpauth_uri's")
		}
		alg = a
	}
	if req.Digits != 0 {
		if key != nil && req.Digits != digits {
			return cp, invalidf("digits differs from the otpauth_uri's")
		}
		digits = req.Digits
	}
	if digits < otp.MinDigits || digits > otp.MaxDigits {
		return cp, invalidf("digits must be 6, 7 or 8")
	}
	if req.Period != 0 {
		if key != nil && req.Period != period {
			return cp, invalidf("period differs from the otpauth_uri's")
		}
		period = req.Period
	}
	if period < 10 || period > 300 {
		return cp, invalidf("period must be 10..300 seconds (authenticator apps expect 30)")
	}
	cp.alg, cp.digits, cp.period = alg, digits, period
	cp.issuer, cp.label = strings.TrimSpace(req.Issuer), strings.TrimSpace(req.Label)
	if key != nil {
		if cp.issuer == "" {
			cp.issuer = key.Issuer
		}
		if cp.label == "" {
			cp.label = key.Account
		}
		cp.secret = key.Secret
	}
	if req.Secret != "" {
		s, err := otp.DecodeSecret(req.Secret)
		if err != nil {
			return cp, invalidf("secret must be base32")
		}
		cp.secret = s
	}
	if imported && len(cp.secret) < MinSecretLength {
		cp.secret.Wipe()
		return cp, invalidf("the secret has %d bits; at least 128 are required", 8*len(cp.secret))
	}
	cp.secretLen = req.SecretLength
	if cp.secretLen == 0 {
		cp.secretLen = p.SecretLength
	}
	if cp.secretLen == 0 {
		cp.secretLen = alg.SecretSize()
	}
	if !imported && (cp.secretLen < MinSecretLength || cp.secretLen > MaxSecretLength) {
		return cp, invalidf("secret_length must be %d..%d bytes", MinSecretLength, MaxSecretLength)
	}
	if err := checkName(cp.label); err != nil {
		return cp, invalidf("label must be at most 128 bytes of UTF-8, without control characters")
	}
	return cp, nil
}
