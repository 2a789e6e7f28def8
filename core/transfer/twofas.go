package transfer

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"latchkey/core/otp"
)

// 2FAS Authenticator backups (.2fas): JSON with the accounts in
// "services", or, when the backup has a password, in "servicesEncrypted"
// as "base64(ciphertext+tag):base64(salt):base64(iv)" under AES-256-GCM
// with a key from PBKDF2-HMAC-SHA256 (10,000 iterations) of the password.

const twofasIterations = 10000

type twofasBackup struct {
	Services          []twofasService `json:"services"`
	Groups            []twofasGroup   `json:"groups"`
	SchemaVersion     int             `json:"schemaVersion"`
	ServicesEncrypted string          `json:"servicesEncrypted"`
}

type twofasGroup struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type twofasService struct {
	Name    string    `json:"name"`
	Secret  string    `json:"secret"`
	OTP     twofasOTP `json:"otp"`
	GroupID string    `json:"groupId"`
}

type twofasOTP struct {
	Label     string  `json:"label"`
	Account   string  `json:"account"`
	Issuer    string  `json:"issuer"`
	Digits    int     `json:"digits"`
	Period    int     `json:"period"`
	Algorithm string  `json:"algorithm"`
	TokenType string  `json:"tokenType"`
	Counter   *uint64 `json:"counter"`
}

// ParseTwoFAS reads a 2FAS backup, plain or encrypted. For an encrypted
// one, passphrase is called once; a wrong password returns an error
// wrapping ErrPassphrase. TOTP, HOTP and STEAM services are read; other
// token types come back with Unsupported set.
func ParseTwoFAS(data []byte, passphrase func() ([]byte, error)) ([]Entry, error) {
	var b twofasBackup
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: 2fas: %s", ErrCorrupt, jsonProblem(err))
	}
	services := b.Services
	if b.ServicesEncrypted != "" {
		plain, err := openTwoFAS(b.ServicesEncrypted, passphrase)
		if err != nil {
			return nil, err
		}
		services = nil
		if err := json.Unmarshal(plain, &services); err != nil {
			return nil, fmt.Errorf("%w: 2fas: decrypted services: %s", ErrCorrupt, jsonProblem(err))
		}
	}
	if len(services) > MaxEntries {
		return nil, tooMany()
	}
	groups := make(map[string]string, len(b.Groups))
	for _, g := range b.Groups {
		groups[g.ID] = g.Name
	}
	entries := make([]Entry, 0, len(services))
	for i := range services {
		e, err := twofasToEntry(&services[i], groups)
		if err != nil {
			return nil, &EntryError{Where: fmt.Sprintf("service %d", i+1), Label: e.Label(), Err: err}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func twofasToEntry(s *twofasService, groups map[string]string) (Entry, error) {
	var e Entry
	k := &e.Key
	k.Issuer = strings.TrimSpace(s.OTP.Issuer)
	if k.Issuer == "" {
		k.Issuer = strings.TrimSpace(s.Name)
	}
	k.Account = strings.TrimSpace(s.OTP.Account)
	if k.Account == "" {
		k.Account = trimLabel(k.Issuer, s.OTP.Label)
	}
	if g := groups[s.GroupID]; g != "" {
		e.Tags = []string{g}
	}
	switch strings.ToUpper(s.OTP.TokenType) {
	case "", "TOTP":
		k.Type = otp.TOTP
	case "HOTP":
		k.Type = otp.HOTP
		if s.OTP.Counter != nil {
			k.Counter = *s.OTP.Counter
		}
	case "STEAM":
		k.Type = otp.Steam
	default:
		e.Unsupported = fmt.Sprintf("token type %q is not supported", clip(s.OTP.TokenType))
		return e, nil
	}
	var err error
	if k.Secret, err = otp.DecodeSecret(s.Secret); err != nil {
		return e, fmt.Errorf("secret: %w", err)
	}
	if s.OTP.Algorithm != "" {
		if k.Algorithm, err = otp.ParseAlgorithm(s.OTP.Algorithm); err != nil && e.Unsupported == "" {
			e.Unsupported = fmt.Sprintf("algorithm %q is not supported (SHA1, SHA256 and SHA512 are)", clip(s.OTP.Algorithm))
		}
	}
	k.Digits, k.Period = s.OTP.Digits, s.OTP.Period
	if k.Type == otp.HOTP {
		k.Period = otp.DefaultPeriod
	}
	return e, check(&e)
}

func openTwoFAS(field string, passphrase func() ([]byte, error)) ([]byte, error) {
	parts := strings.Split(field, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: 2fas: servicesEncrypted is not data:salt:iv", ErrCorrupt)
	}
	var raw [3][]byte
	for i, p := range parts {
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("%w: 2fas: servicesEncrypted part %d is not base64", ErrCorrupt, i+1)
		}
		raw[i] = b
	}
	ct, salt, iv := raw[0], raw[1], raw[2]
	if len(iv) != 12 || len(salt) == 0 || len(salt) > 1024 || len(ct) < 16 {
		return nil, fmt.Errorf("%w: 2fas: servicesEncrypted has a bad salt, iv or length", ErrCorrupt)
	}
	if passphrase == nil {
		return nil, fmt.Errorf("2fas: %w", ErrNeedPassphrase)
	}
	pass, err := passphrase()
	if err != nil {
		return nil, fmt.Errorf("2fas: password: %w", err)
	}
	defer clear(pass)
	key, err := pbkdf2.Key(sha256.New, string(pass), salt, twofasIterations, 32)
	if err != nil {
		return nil, fmt.Errorf("2fas: pbkdf2: %w", err)
	}
	defer clear(key)
	plain, err := gcmOpen(key, iv, ct)
	if err != nil {
		return nil, fmt.Errorf("2fas: %w", ErrPassphrase)
	}
	return plain, nil
}
