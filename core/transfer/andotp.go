package transfer

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"latchkey/core/otp"
)

// andOTP backups, as andOTP's source describes them (Database/Entry.java
// for the entries, Utilities/BackupHelper.java and EncryptionHelper.java
// for the encryption):
//   - plain (otp_accounts.json): a JSON array of {"secret" (base32),
//     "issuer", "label", "digits", "type" ("TOTP", "HOTP", "STEAM"),
//     "algorithm", "period" (TOTP), "counter" (HOTP), "tags", ...};
//   - encrypted (otp_accounts.json.aes): the iteration count as a 4-byte
//     big-endian integer, a 12-byte salt, a 12-byte nonce, then the
//     AES-256-GCM ciphertext and tag of the plain backup, under
//     PBKDF2-HMAC-SHA1(password, salt, iterations, 32 bytes).

const (
	andotpSaltLen  = 12
	andotpNonceLen = 12
	// andOTP picks 1,000 to 5,000 iterations; the bound keeps a hostile
	// file from asking for minutes of key derivation.
	andotpMaxIterations = 1 << 20
)

type andotpEntry struct {
	Secret    string   `json:"secret"`
	Issuer    string   `json:"issuer"`
	Label     string   `json:"label"`
	Digits    int      `json:"digits"`
	Type      string   `json:"type"`
	Algorithm string   `json:"algorithm"`
	Period    int      `json:"period"`
	Counter   *uint64  `json:"counter"`
	Tags      []string `json:"tags"`
}

// ParseAndOTP reads an andOTP backup, plain JSON or encrypted. For an
// encrypted one, passphrase is called once; a wrong password returns an
// error wrapping ErrPassphrase.
func ParseAndOTP(data []byte, passphrase func() ([]byte, error)) ([]Entry, error) {
	if t := trimJSON(data); len(t) == 0 || t[0] != '[' {
		plain, err := openAndOTP(data, passphrase)
		if err != nil {
			return nil, err
		}
		defer clear(plain)
		data = plain
	}
	var list []andotpEntry
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%w: andotp: %s", ErrCorrupt, jsonProblem(err))
	}
	if len(list) > MaxEntries {
		return nil, tooMany()
	}
	entries := make([]Entry, 0, len(list))
	for i := range list {
		e, err := andotpToEntry(&list[i])
		if err != nil {
			return nil, &EntryError{Where: fmt.Sprintf("entry %d", i+1), Label: e.Label(), Err: err}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func andotpToEntry(a *andotpEntry) (Entry, error) {
	var e Entry
	k := &e.Key
	k.Issuer = strings.TrimSpace(a.Issuer)
	// Some labels repeat the issuer as "Issuer:name".
	k.Account = trimLabel(k.Issuer, a.Label)
	for _, t := range a.Tags {
		if t = strings.TrimSpace(t); t != "" {
			e.Tags = append(e.Tags, t)
		}
	}
	switch strings.ToUpper(a.Type) {
	case "", "TOTP":
		k.Type = otp.TOTP
	case "HOTP":
		k.Type = otp.HOTP
		if a.Counter == nil {
			return e, errors.New("hotp entry without a counter")
		}
		k.Counter = *a.Counter
	case "STEAM":
		k.Type = otp.Steam
	default:
		e.Unsupported = fmt.Sprintf("%s entries are not supported", clip(a.Type))
		return e, nil
	}
	var err error
	if k.Secret, err = otp.DecodeSecret(a.Secret); err != nil {
		return e, fmt.Errorf("secret: %w", err)
	}
	if a.Algorithm != "" {
		if k.Algorithm, err = otp.ParseAlgorithm(a.Algorithm); err != nil {
			e.Unsupported = fmt.Sprintf("algorithm %q is not supported (SHA1, SHA256 and SHA512 are)", clip(a.Algorithm))
		}
	}
	k.Digits, k.Period = a.Digits, a.Period
	if k.Type == otp.HOTP {
		k.Period = otp.DefaultPeriod
	}
	return e, check(&e)
}

// isAndOTPEncrypted reports whether data looks like an encrypted andOTP
// backup: a small big-endian iteration count, then room for the salt,
// nonce and tag. Text never starts with a zero byte.
func isAndOTPEncrypted(data []byte) bool {
	if len(data) < 4+andotpSaltLen+andotpNonceLen+16 || data[0] != 0 {
		return false
	}
	n := binary.BigEndian.Uint32(data)
	return n > 0 && n <= andotpMaxIterations
}

func openAndOTP(data []byte, passphrase func() ([]byte, error)) ([]byte, error) {
	if !isAndOTPEncrypted(data) {
		return nil, fmt.Errorf("%w: andotp: neither a JSON backup nor an encrypted one", ErrCorrupt)
	}
	iter := int(binary.BigEndian.Uint32(data))
	salt := data[4 : 4+andotpSaltLen]
	nonce := data[4+andotpSaltLen : 4+andotpSaltLen+andotpNonceLen]
	ct := data[4+andotpSaltLen+andotpNonceLen:]
	if passphrase == nil {
		return nil, fmt.Errorf("andotp: %w", ErrNeedPassphrase)
	}
	pass, err := passphrase()
	if err != nil {
		return nil, fmt.Errorf("andotp: password: %w", err)
	}
	defer clear(pass)
	key, err := pbkdf2.Key(sha1.New, string(pass), salt, iter, 32)
	if err != nil {
		return nil, fmt.Errorf("andotp: pbkdf2: %w", err)
	}
	defer clear(key)
	plain, err := gcmOpen(key, nonce, ct)
	if err != nil {
		return nil, fmt.Errorf("andotp: %w", ErrPassphrase)
	}
	return plain, nil
}
