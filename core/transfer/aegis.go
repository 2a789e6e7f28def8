package transfer

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/scrypt"

	"latchkey/core/otp"
)

// Aegis vault JSON, as the Aegis Authenticator documents it
// (docs/vault.md): a header with password slots and the database, either
// as a JSON object (plain export) or as base64 AES-256-GCM ciphertext
// under a master key that each slot wraps.

type aegisVault struct {
	Version int             `json:"version"`
	Header  aegisHeader     `json:"header"`
	DB      json.RawMessage `json:"db"`
}

type aegisHeader struct {
	Slots  []aegisSlot  `json:"slots"`
	Params *aegisParams `json:"params"`
}

type aegisParams struct {
	Nonce string `json:"nonce"`
	Tag   string `json:"tag"`
}

type aegisSlot struct {
	Type      int          `json:"type"`
	UUID      string       `json:"uuid"`
	Key       string       `json:"key"`
	KeyParams *aegisParams `json:"key_params"`
	N         int          `json:"n,omitempty"`
	R         int          `json:"r,omitempty"`
	P         int          `json:"p,omitempty"`
	Salt      string       `json:"salt,omitempty"`
}

type aegisDB struct {
	Version int          `json:"version"`
	Entries []aegisEntry `json:"entries"`
	Groups  []aegisGroup `json:"groups,omitempty"`
}

type aegisGroup struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

type aegisEntry struct {
	Type     string    `json:"type"`
	UUID     string    `json:"uuid"`
	Name     string    `json:"name"`
	Issuer   string    `json:"issuer"`
	Note     string    `json:"note"`
	Favorite bool      `json:"favorite"`
	Icon     *string   `json:"icon"`
	Info     aegisInfo `json:"info"`
	Group    string    `json:"group,omitempty"`  // vault version 2: a group name
	Groups   []string  `json:"groups,omitempty"` // version 3: group uuids
}

type aegisInfo struct {
	Secret  string  `json:"secret"`
	Algo    string  `json:"algo"`
	Digits  int     `json:"digits"`
	Period  int     `json:"period,omitempty"`
	Counter *uint64 `json:"counter,omitempty"`
}

// Aegis password slots use scrypt; these bounds keep a hostile vault from
// asking for more than 64 MiB or a long stall (Aegis itself uses N=2^15,
// r=8, p=1: 32 MiB).
const (
	aegisMaxScryptMem = 64 << 20
	aegisMaxScryptP   = 4
)

// ParseAegis reads an Aegis vault export, plain or encrypted. For an
// encrypted vault, passphrase is called once; a password that opens no
// slot returns an error wrapping ErrPassphrase. totp, hotp and steam
// entries are read; other types (motp, yandex) come back with
// Unsupported set.
func ParseAegis(data []byte, passphrase func() ([]byte, error)) ([]Entry, error) {
	var v aegisVault
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("%w: aegis: %s", ErrCorrupt, jsonProblem(err))
	}
	if v.Version != 1 {
		return nil, fmt.Errorf("%w: aegis: vault version %d (this reads version 1)", ErrCorrupt, v.Version)
	}
	raw := bytes.TrimSpace(v.DB)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("%w: aegis: no db", ErrCorrupt)
	}
	if raw[0] == '"' {
		var err error
		if raw, err = openAegis(&v, raw, passphrase); err != nil {
			return nil, err
		}
	}
	var db aegisDB
	if err := json.Unmarshal(raw, &db); err != nil {
		return nil, fmt.Errorf("%w: aegis: db: %s", ErrCorrupt, jsonProblem(err))
	}
	if len(db.Entries) > MaxEntries {
		return nil, tooMany()
	}
	groups := make(map[string]string, len(db.Groups))
	for _, g := range db.Groups {
		groups[g.UUID] = g.Name
	}
	entries := make([]Entry, 0, len(db.Entries))
	for i, ae := range db.Entries {
		e, err := aegisToEntry(&ae, groups)
		if err != nil {
			return nil, &EntryError{Where: fmt.Sprintf("entry %d", i+1), Label: e.Label(), Err: err}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

func aegisToEntry(ae *aegisEntry, groups map[string]string) (Entry, error) {
	var e Entry
	k := &e.Key
	k.Issuer = strings.TrimSpace(ae.Issuer)
	k.Account = trimLabel(k.Issuer, ae.Name)
	if ae.Group != "" {
		e.Tags = append(e.Tags, ae.Group)
	}
	for _, id := range ae.Groups {
		if name, ok := groups[id]; ok && name != "" {
			e.Tags = append(e.Tags, name)
		}
	}
	switch strings.ToLower(ae.Type) {
	case "totp":
		k.Type = otp.TOTP
	case "hotp":
		k.Type = otp.HOTP
		if ae.Info.Counter == nil {
			return e, errors.New("hotp entry without a counter")
		}
		k.Counter = *ae.Info.Counter
	case "steam":
		k.Type = otp.Steam
	case "motp", "yandex":
		e.Unsupported = fmt.Sprintf("%s entries are not supported", ae.Type)
		return e, nil
	default:
		e.Unsupported = fmt.Sprintf("unknown entry type %q", clip(ae.Type))
		return e, nil
	}
	var err error
	if k.Secret, err = otp.DecodeSecret(ae.Info.Secret); err != nil {
		return e, fmt.Errorf("secret: %w", err)
	}
	if ae.Info.Algo != "" {
		if k.Algorithm, err = otp.ParseAlgorithm(ae.Info.Algo); err != nil && e.Unsupported == "" {
			e.Unsupported = fmt.Sprintf("algorithm %q is not supported (SHA1, SHA256 and SHA512 are)", clip(ae.Info.Algo))
		}
	}
	k.Digits, k.Period = ae.Info.Digits, ae.Info.Period
	if k.Type == otp.HOTP {
		k.Period = otp.DefaultPeriod
	}
	return e, check(&e)
}

func openAegis(v *aegisVault, raw []byte, passphrase func() ([]byte, error)) ([]byte, error) {
	var b64 string
	if err := json.Unmarshal(raw, &b64); err != nil {
		return nil, fmt.Errorf("%w: aegis: db is not a string", ErrCorrupt)
	}
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: aegis: db is not base64", ErrCorrupt)
	}
	if v.Header.Params == nil {
		return nil, fmt.Errorf("%w: aegis: encrypted db without header params", ErrCorrupt)
	}
	nonce, tag, err := gcmParams(v.Header.Params)
	if err != nil {
		return nil, fmt.Errorf("%w: aegis: header params: %v", ErrCorrupt, err)
	}
	var slots []*aegisSlot
	for i := range v.Header.Slots {
		if v.Header.Slots[i].Type == 1 {
			slots = append(slots, &v.Header.Slots[i])
		}
	}
	if len(slots) == 0 {
		return nil, fmt.Errorf("%w: aegis: the vault has no password slot (only biometric or raw keys)", ErrCorrupt)
	}
	if passphrase == nil {
		return nil, fmt.Errorf("aegis: %w", ErrNeedPassphrase)
	}
	pass, err := passphrase()
	if err != nil {
		return nil, fmt.Errorf("aegis: password: %w", err)
	}
	defer clear(pass)
	var master []byte
	for _, s := range slots {
		m, err := unwrapAegisSlot(s, pass)
		if errors.Is(err, ErrPassphrase) {
			continue
		}
		if err != nil {
			return nil, err
		}
		master = m
		break
	}
	if master == nil {
		return nil, fmt.Errorf("aegis: %w (no password slot of the vault opens with it)", ErrPassphrase)
	}
	defer clear(master)
	plain, err := gcmOpen(master, nonce, append(ct, tag...))
	if err != nil {
		return nil, fmt.Errorf("%w: aegis: the database does not decrypt with the vault's master key", ErrCorrupt)
	}
	return plain, nil
}

func unwrapAegisSlot(s *aegisSlot, pass []byte) ([]byte, error) {
	if s.N < 2 || s.N&(s.N-1) != 0 || s.R < 1 || s.P < 1 || s.P > aegisMaxScryptP || s.N > aegisMaxScryptMem/(128*s.R) {
		return nil, fmt.Errorf("%w: aegis: slot %s: scrypt parameters out of range", ErrCorrupt, clip(s.UUID))
	}
	salt, err := hex.DecodeString(s.Salt)
	if err != nil {
		return nil, fmt.Errorf("%w: aegis: slot salt is not hex", ErrCorrupt)
	}
	wrapped, err := hex.DecodeString(s.Key)
	if err != nil || s.KeyParams == nil {
		return nil, fmt.Errorf("%w: aegis: slot key is missing or not hex", ErrCorrupt)
	}
	nonce, tag, err := gcmParams(s.KeyParams)
	if err != nil {
		return nil, fmt.Errorf("%w: aegis: slot key params: %v", ErrCorrupt, err)
	}
	kek, err := scrypt.Key(pass, salt, s.N, s.R, s.P, 32)
	if err != nil {
		return nil, fmt.Errorf("%w: aegis: scrypt: %v", ErrCorrupt, err)
	}
	defer clear(kek)
	master, err := gcmOpen(kek, nonce, append(wrapped, tag...))
	if err != nil {
		return nil, ErrPassphrase
	}
	if len(master) != 32 {
		return nil, fmt.Errorf("%w: aegis: master key of %d bytes", ErrCorrupt, len(master))
	}
	return master, nil
}

func gcmParams(p *aegisParams) (nonce, tag []byte, err error) {
	if nonce, err = hex.DecodeString(p.Nonce); err != nil || len(nonce) != 12 {
		return nil, nil, errors.New("nonce is not 12 bytes of hex")
	}
	if tag, err = hex.DecodeString(p.Tag); err != nil || len(tag) != 16 {
		return nil, nil, errors.New("tag is not 16 bytes of hex")
	}
	return nonce, tag, nil
}

// gcmOpen decrypts AES-GCM ciphertext with the tag appended.
func gcmOpen(key, nonce, ct []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	g, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		return nil, err
	}
	return g.Open(nil, nonce, ct, nil)
}

// WriteAegis writes entries as a plain (unencrypted) Aegis vault export
// that Aegis Authenticator imports. Unsupported entries are skipped.
func WriteAegis(entries []Entry) ([]byte, []Skipped, error) {
	db := aegisDB{Version: 3, Entries: []aegisEntry{}}
	groupIDs := map[string]string{}
	var skipped []Skipped
	for i := range entries {
		e := &entries[i]
		if e.Unsupported != "" {
			skipped = append(skipped, Skipped{e.Label(), e.Unsupported})
			continue
		}
		k := &e.Key
		id, err := newUUID()
		if err != nil {
			return nil, nil, err
		}
		ae := aegisEntry{
			Type:   k.Type.String(),
			UUID:   id,
			Name:   k.Account,
			Issuer: k.Issuer,
			Info: aegisInfo{
				Secret: k.Secret.Base32(),
				Algo:   k.Algorithm.String(),
				Digits: k.Digits,
				Period: k.Period,
			},
			Groups: []string{},
		}
		if k.Period == 0 {
			ae.Info.Period = otp.DefaultPeriod
		}
		if k.Digits == 0 {
			ae.Info.Digits = otp.DefaultDigits
			if k.Type == otp.Steam {
				ae.Info.Digits = otp.SteamDigits
			}
		}
		if k.Type == otp.HOTP {
			c := k.Counter
			ae.Info.Counter = &c
		}
		for _, t := range e.Tags {
			gid, ok := groupIDs[t]
			if !ok {
				if gid, err = newUUID(); err != nil {
					return nil, nil, err
				}
				groupIDs[t] = gid
				db.Groups = append(db.Groups, aegisGroup{UUID: gid, Name: t})
			}
			ae.Groups = append(ae.Groups, gid)
		}
		db.Entries = append(db.Entries, ae)
	}
	if db.Groups == nil {
		db.Groups = []aegisGroup{}
	}
	rawDB, err := json.Marshal(db)
	if err != nil {
		return nil, nil, fmt.Errorf("aegis: %w", err)
	}
	out, err := json.MarshalIndent(aegisVault{Version: 1, DB: rawDB}, "", "    ")
	if err != nil {
		return nil, nil, fmt.Errorf("aegis: %w", err)
	}
	return append(out, '\n'), skipped, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("uuid: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// jsonProblem describes a JSON error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return "invalid JSON"
}
