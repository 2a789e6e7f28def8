package transfer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"latchkey/core/otp"
)

// Authenticator Pro backups (plain JSON), as its documentation describes
// them (doc/BACKUP_FORMAT.md in jamie-mh/AuthenticatorPro):
// {"Authenticators": [{"Type", "Issuer", "Username", "Secret",
// "Algorithm", "Digits", "Period", "Counter", "Ranking", ...}],
// "Categories": [{"Id", "Name"}], "AuthenticatorCategories":
// [{"CategoryId", "AuthenticatorSecret"}], "CustomIcons": [...]}.
// Type: 1 HOTP, 2 TOTP, 3 mOTP, 4 Steam, 5 Yandex; Algorithm: 0 SHA-1,
// 1 SHA-256, 2 SHA-512; authenticators are shown by Ranking.

type authproBackup struct {
	Authenticators []authproEntry `json:"Authenticators"`
	Categories     []struct {
		ID   string `json:"Id"`
		Name string `json:"Name"`
	} `json:"Categories"`
	AuthenticatorCategories []struct {
		CategoryID string `json:"CategoryId"`
		Secret     string `json:"AuthenticatorSecret"`
	} `json:"AuthenticatorCategories"`
}

type authproEntry struct {
	Type      int    `json:"Type"`
	Issuer    string `json:"Issuer"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
	Algorithm int    `json:"Algorithm"`
	Digits    int    `json:"Digits"`
	Period    int    `json:"Period"`
	Counter   uint64 `json:"Counter"`
	Ranking   int    `json:"Ranking"`
}

// ParseAuthenticatorPro reads an unencrypted Authenticator Pro backup.
// HOTP, TOTP and Steam authenticators are read; mOTP and Yandex ones come
// back with Unsupported set.
func ParseAuthenticatorPro(data []byte) ([]Entry, error) {
	var b authproBackup
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("%w: authenticator pro: %s", ErrCorrupt, jsonProblem(err))
	}
	if len(b.Authenticators) > MaxEntries {
		return nil, tooMany()
	}
	names := map[string]string{}
	for _, c := range b.Categories {
		names[c.ID] = c.Name
	}
	tags := map[string][]string{} // by secret, as the backup links them
	for _, ac := range b.AuthenticatorCategories {
		if n := strings.TrimSpace(names[ac.CategoryID]); n != "" {
			tags[ac.Secret] = append(tags[ac.Secret], n)
		}
	}
	list := slices.Clone(b.Authenticators)
	slices.SortStableFunc(list, func(x, y authproEntry) int { return cmp.Compare(x.Ranking, y.Ranking) })
	entries := make([]Entry, 0, len(list))
	for i := range list {
		e, err := authproToEntry(&list[i])
		if err != nil {
			return nil, &EntryError{Where: fmt.Sprintf("authenticator %d", i+1), Label: e.Label(), Err: err}
		}
		e.Tags = tags[list[i].Secret]
		entries = append(entries, e)
	}
	return entries, nil
}

func authproToEntry(a *authproEntry) (Entry, error) {
	var e Entry
	k := &e.Key
	k.Issuer = strings.TrimSpace(a.Issuer)
	k.Account = trimLabel(k.Issuer, a.Username)
	switch a.Type {
	case 1:
		k.Type, k.Counter = otp.HOTP, a.Counter
	case 2:
		k.Type = otp.TOTP
	case 4:
		k.Type = otp.Steam
	case 3:
		e.Unsupported = "mOTP authenticators are not supported"
		return e, nil
	case 5:
		e.Unsupported = "Yandex authenticators are not supported"
		return e, nil
	default:
		e.Unsupported = fmt.Sprintf("authenticator type %d is not supported", a.Type)
		return e, nil
	}
	var err error
	if k.Secret, err = otp.DecodeSecret(a.Secret); err != nil {
		return e, fmt.Errorf("secret: %w", err)
	}
	switch a.Algorithm {
	case 0:
		k.Algorithm = otp.SHA1
	case 1:
		k.Algorithm = otp.SHA256
	case 2:
		k.Algorithm = otp.SHA512
	default:
		e.Unsupported = fmt.Sprintf("algorithm %d is not supported (SHA1, SHA256 and SHA512 are)", a.Algorithm)
	}
	k.Digits, k.Period = a.Digits, a.Period
	if k.Type == otp.HOTP {
		k.Period = otp.DefaultPeriod
	}
	return e, check(&e)
}
