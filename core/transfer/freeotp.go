package transfer

import (
	"encoding/json"
	"fmt"
	"strings"

	"latchkey/core/otp"
)

// FreeOTP+ JSON exports, as FreeOTP+'s source writes them
// (token-data/.../legacy/ImportExportUtil.kt and legacy/Token.java):
// {"tokens": [...], "tokenOrder": ["issuer:label", ...]} where a token
// is {"type": "TOTP"|"HOTP", "algo": "SHA1", "secret": [signed bytes],
// "digits", "period", "counter", "issuerExt", "issuerInt", "issuerAlt",
// "label", "labelAlt", "imagePath", ...}. The ...Alt fields are the names
// the user edited and win over the others; FreeOTP shows Steam codes for
// tokens whose issuerExt is "Steam".

type freeotpExport struct {
	Tokens []freeotpToken `json:"tokens"`
}

type freeotpToken struct {
	Type      string  `json:"type"`
	Algo      string  `json:"algo"`
	Secret    []int   `json:"secret"`
	Digits    int     `json:"digits"`
	Period    int     `json:"period"`
	Counter   *uint64 `json:"counter"`
	IssuerExt string  `json:"issuerExt"`
	IssuerInt string  `json:"issuerInt"`
	IssuerAlt string  `json:"issuerAlt"`
	Label     string  `json:"label"`
	LabelAlt  string  `json:"labelAlt"`
}

// ParseFreeOTP reads a FreeOTP+ JSON export (tokens with their secrets as
// arrays of signed bytes).
func ParseFreeOTP(data []byte) ([]Entry, error) {
	var x freeotpExport
	if err := json.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("%w: freeotp: %s", ErrCorrupt, jsonProblem(err))
	}
	if len(x.Tokens) > MaxEntries {
		return nil, tooMany()
	}
	entries := make([]Entry, 0, len(x.Tokens))
	for i := range x.Tokens {
		e, err := freeotpToEntry(&x.Tokens[i])
		if err != nil {
			return nil, &EntryError{Where: fmt.Sprintf("token %d", i+1), Label: e.Label(), Err: err}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func freeotpToEntry(t *freeotpToken) (Entry, error) {
	var e Entry
	k := &e.Key
	for _, s := range []string{t.IssuerAlt, t.IssuerExt, t.IssuerInt} {
		if s = strings.TrimSpace(s); s != "" {
			k.Issuer = s
			break
		}
	}
	k.Account = strings.TrimSpace(t.LabelAlt)
	if k.Account == "" {
		k.Account = trimLabel(k.Issuer, t.Label)
	}
	switch strings.ToUpper(t.Type) {
	case "", "TOTP":
		k.Type = otp.TOTP
		if t.IssuerExt == "Steam" {
			k.Type = otp.Steam
		}
	case "HOTP":
		k.Type = otp.HOTP
		if t.Counter != nil {
			k.Counter = *t.Counter
		}
	default:
		e.Unsupported = fmt.Sprintf("token type %q is not supported", clip(t.Type))
		return e, nil
	}
	if len(t.Secret) == 0 {
		return e, fmt.Errorf("secret: %w", otp.ErrSecret)
	}
	if len(t.Secret) > otp.MaxSecretSize {
		return e, fmt.Errorf("secret: longer than %d bytes", otp.MaxSecretSize)
	}
	k.Secret = make(otp.Secret, len(t.Secret))
	for i, b := range t.Secret {
		// Java bytes are signed; accept unsigned writers too.
		if b < -128 || b > 255 {
			return e, fmt.Errorf("secret: byte %d is out of range", i+1)
		}
		k.Secret[i] = byte(b)
	}
	if t.Algo != "" {
		var err error
		if k.Algorithm, err = otp.ParseAlgorithm(t.Algo); err != nil {
			e.Unsupported = fmt.Sprintf("algorithm %q is not supported (SHA1, SHA256 and SHA512 are)", clip(t.Algo))
		}
	}
	k.Digits, k.Period = t.Digits, t.Period
	if k.Type == otp.HOTP {
		k.Period = otp.DefaultPeriod
	}
	return e, check(&e)
}
