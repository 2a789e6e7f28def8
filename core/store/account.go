package store

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"latchkey/core/label"
	"latchkey/core/otp"
)

// Account is the metadata of one stored account. It never holds the
// secret, which lives in the backend (the OS keyring or the vault).
type Account struct {
	ID        string        `json:"id"` // 16 hex characters from crypto/rand
	Issuer    string        `json:"issuer"`
	Name      string        `json:"name"`
	Type      otp.Type      `json:"type"` // "totp", "hotp" or "steam"
	Algorithm otp.Algorithm `json:"algorithm"`
	Digits    int           `json:"digits"`
	Period    int           `json:"period"`
	Counter   uint64        `json:"counter"` // HOTP: the next counter to use
	Tags      []string      `json:"tags,omitempty"`
	Order     int           `json:"order"`
	Created   time.Time     `json:"created"`
	// Pairing is set once the account approves sign-ins for a server
	// (see device.go); its device key is in the backend beside the secret.
	Pairing *Pairing `json:"pairing,omitempty"`
}

// Label returns "Issuer:Name", or the name alone without an issuer.
func (a Account) Label() string {
	if a.Issuer == "" {
		return a.Name
	}
	return a.Issuer + ":" + a.Name
}

// Options returns the code parameters of a.
func (a Account) Options() otp.Options {
	return otp.Options{Algorithm: a.Algorithm, Digits: a.Digits, Period: a.Period, Steam: a.Type == otp.Steam}
}

// Bounds on an account's labels, so that no import can make the store's
// files too large to read back (maxFileSize).
const (
	MaxLabel = 256 // bytes of the issuer, and of the name
	MaxTags  = 64
	MaxTag   = 64 // bytes of one tag
)

// normalize fills defaults and checks a before it is stored. Its labels
// are cleaned (label.Clean: no control, format or separator characters)
// and bounded.
func (a *Account) normalize() error {
	a.Issuer, _ = label.Clean(a.Issuer)
	a.Name, _ = label.Clean(a.Name)
	if a.Name == "" && a.Issuer == "" {
		return fmt.Errorf("%w: an account needs a name", ErrInvalid)
	}
	if len(a.Issuer) > MaxLabel || len(a.Name) > MaxLabel {
		return fmt.Errorf("%w: an issuer or name is longer than %d bytes", ErrInvalid, MaxLabel)
	}
	if a.Tags != nil {
		tags := make([]string, 0, len(a.Tags))
		for _, t := range a.Tags {
			if t, _ = label.Clean(t); t != "" {
				tags = append(tags, t)
			}
			if len(t) > MaxTag {
				return fmt.Errorf("%w: a tag is longer than %d bytes", ErrInvalid, MaxTag)
			}
		}
		if len(tags) > MaxTags {
			return fmt.Errorf("%w: more than %d tags", ErrInvalid, MaxTags)
		}
		a.Tags = tags
	}
	if a.Digits == 0 {
		a.Digits = otp.DefaultDigits
		if a.Type == otp.Steam {
			a.Digits = otp.SteamDigits
		}
	}
	if a.Period == 0 {
		a.Period = otp.DefaultPeriod
	}
	if !a.Type.Valid() {
		return fmt.Errorf("%w: %v", ErrInvalid, otp.ErrType)
	}
	if err := a.Options().Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return nil
}

// check validates an account read from disk.
func (a Account) check() error {
	if !validID(a.ID) {
		return errors.New("bad account id")
	}
	if !a.Type.Valid() {
		return otp.ErrType
	}
	if a.Digits == 0 || a.Period == 0 {
		return errors.New("missing digits or period")
	}
	return a.Options().Validate()
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// sameKey reports whether a and b have the same issuer and name, ignoring
// case: what Add refuses to store twice.
func sameKey(a, b Account) bool {
	return strings.EqualFold(a.Issuer, b.Issuer) && strings.EqualFold(a.Name, b.Name)
}

func sortAccounts(as []Account) {
	slices.SortStableFunc(as, func(a, b Account) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return a.Created.Compare(b.Created)
	})
}

// match returns the accounts matching query, case-insensitively: exact
// matches on id, issuer, name or "issuer:name" if there are any, else
// substring matches on "issuer:name".
func match(as []Account, query string) []Account {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" {
		return nil
	}
	var exact, sub []Account
	for _, a := range as {
		label := a.Label()
		switch {
		case a.ID == q, strings.ToLower(a.Issuer) == q, strings.ToLower(a.Name) == q, strings.ToLower(label) == q,
			a.Issuer == "" && ":"+strings.ToLower(a.Name) == q:
			exact = append(exact, a)
		case strings.Contains(strings.ToLower(label), q):
			sub = append(sub, a)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return sub
}

// The on-disk formats. Both carry a version so that a later Latchkey can
// tell an old file from a corrupt one.
const formatVersion = 1

type accountsFile struct {
	Version    int       `json:"version"`
	Generation uint64    `json:"generation,omitempty"` // see generation.go
	Accounts   []Account `json:"accounts"`
}

type vaultEntry struct {
	Account
	Secret string `json:"secret"` // base32
	// DeviceKey is a paired account's Ed25519 private key seed, base64.
	DeviceKey string `json:"device_key,omitempty"`
}

type vaultFile struct {
	Version    int          `json:"version"`
	Generation uint64       `json:"generation,omitempty"` // see generation.go
	Accounts   []vaultEntry `json:"accounts"`
}

// decodeAccounts parses accounts.json.
func decodeAccounts(b []byte) ([]Account, error) {
	var f accountsFile
	if err := strictUnmarshal(b, &f); err != nil {
		return nil, err
	}
	if f.Version != formatVersion {
		return nil, fmt.Errorf("unsupported version %d", f.Version)
	}
	if err := checkAll(f.Accounts); err != nil {
		return nil, err
	}
	return f.Accounts, nil
}

func encodeAccounts(as []Account, gen uint64) ([]byte, error) {
	if as == nil {
		as = []Account{}
	}
	return json.Marshal(accountsFile{Version: formatVersion, Generation: gen, Accounts: as})
}

// decodeVault parses the decrypted vault.
func decodeVault(b []byte) ([]Account, map[string]otp.Secret, error) {
	var f vaultFile
	if err := strictUnmarshal(b, &f); err != nil {
		return nil, nil, err
	}
	if f.Version != formatVersion {
		return nil, nil, fmt.Errorf("unsupported version %d", f.Version)
	}
	as := make([]Account, 0, len(f.Accounts))
	secrets := make(map[string]otp.Secret, len(f.Accounts))
	for i, e := range f.Accounts {
		sec, err := otp.DecodeSecret(e.Secret)
		if err != nil || len(sec) == 0 || len(sec) > otp.MaxSecretSize {
			return nil, nil, fmt.Errorf("account %d: bad secret", i)
		}
		as = append(as, e.Account)
		secrets[e.ID] = sec
	}
	if err := checkAll(as); err != nil {
		return nil, nil, err
	}
	return as, secrets, nil
}

func encodeVault(as []Account, secrets map[string]otp.Secret, gen uint64) ([]byte, error) {
	return encodeVaultWith(as, secrets, nil, gen)
}

// encodeVaultWith is encodeVault with paired accounts' device keys.
func encodeVaultWith(as []Account, secrets map[string]otp.Secret, devKeys map[string][]byte, gen uint64) ([]byte, error) {
	f := vaultFile{Version: formatVersion, Generation: gen, Accounts: make([]vaultEntry, 0, len(as))}
	for _, a := range as {
		sec, ok := secrets[a.ID]
		if !ok {
			return nil, fmt.Errorf("account %s has no secret", a.ID)
		}
		e := vaultEntry{Account: a, Secret: sec.Base32()}
		if k, ok := devKeys[a.ID]; ok {
			e.DeviceKey = base64.StdEncoding.EncodeToString(k)
		}
		f.Accounts = append(f.Accounts, e)
	}
	return json.Marshal(f)
}

func strictUnmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		// json errors quote at most a type name and an offset, never the
		// input, so a secret cannot leak through them.
		return fmt.Errorf("bad JSON: %w", err)
	}
	return nil
}

func checkAll(as []Account) error {
	seen := make(map[string]bool, len(as))
	for i, a := range as {
		if err := a.check(); err != nil {
			return fmt.Errorf("account %d: %w", i, err)
		}
		if seen[a.ID] {
			return fmt.Errorf("account %d: duplicate id", i)
		}
		seen[a.ID] = true
	}
	return nil
}

// vaultDeviceKeys reads the device keys of a decrypted vault that
// decodeVault accepted.
func vaultDeviceKeys(b []byte) map[string][]byte {
	var f vaultFile
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	out := map[string][]byte{}
	for _, e := range f.Accounts {
		if k, err := base64.StdEncoding.DecodeString(e.DeviceKey); err == nil && len(k) > 0 {
			out[e.ID] = k
		}
	}
	return out
}
