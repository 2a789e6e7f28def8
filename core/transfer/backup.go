package transfer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"

	"latchkey/core/otp"
)

// Latchkey backups are age files encrypted to a passphrase (age's scrypt
// recipient) holding JSON with every account: metadata (id, order,
// creation time, tags), HOTP counters and secrets, so that importing one
// restores an identical store.

// BackupWorkFactor is the scrypt work factor (log2 N) WriteBackup uses by
// default: age's own default, about a second on a laptop.
const BackupWorkFactor = 18

// backupMaxWorkFactor bounds what a backup may ask of scrypt when read
// (2^20 * r=8: 1 GiB would be too much for a hostile file; 2^18 is 256 MiB).
const backupMaxWorkFactor = 18

const backupMagic = "latchkey-backup"

type backupFile struct {
	Format   string          `json:"format"`
	Version  int             `json:"version"`
	Created  time.Time       `json:"created"`
	Accounts []backupAccount `json:"accounts"`
}

type backupAccount struct {
	ID        string        `json:"id,omitempty"`
	Issuer    string        `json:"issuer"`
	Name      string        `json:"name"`
	Type      otp.Type      `json:"type"`
	Algorithm otp.Algorithm `json:"algorithm"`
	Digits    int           `json:"digits"`
	Period    int           `json:"period"`
	Counter   uint64        `json:"counter"`
	Tags      []string      `json:"tags,omitempty"`
	Order     int           `json:"order"`
	Created   time.Time     `json:"created"`
	Secret    string        `json:"secret"`
}

// BackupOptions tune WriteBackup.
type BackupOptions struct {
	// WorkFactor is the scrypt log2 N; zero means BackupWorkFactor. Tests
	// use small values to run fast.
	WorkFactor int
	// Now is the backup's creation time; zero means unset.
	Now time.Time
}

// WriteBackup writes entries as a Latchkey backup encrypted with age to
// passphrase. Unsupported entries are skipped.
func WriteBackup(w io.Writer, entries []Entry, passphrase []byte, opts BackupOptions) ([]Skipped, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("backup: empty password")
	}
	f := backupFile{Format: backupMagic, Version: 1, Created: opts.Now.UTC(), Accounts: []backupAccount{}}
	var skipped []Skipped
	for i := range entries {
		e := &entries[i]
		if e.Unsupported != "" {
			skipped = append(skipped, Skipped{e.Label(), e.Unsupported})
			continue
		}
		k := &e.Key
		f.Accounts = append(f.Accounts, backupAccount{
			ID: e.ID, Issuer: k.Issuer, Name: k.Account, Type: k.Type, Algorithm: k.Algorithm,
			Digits: k.Digits, Period: k.Period, Counter: k.Counter,
			Tags: e.Tags, Order: e.Order, Created: e.Created.UTC(), Secret: k.Secret.Base32(),
		})
	}
	plain, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer clear(plain)
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	wf := opts.WorkFactor
	if wf == 0 {
		wf = BackupWorkFactor
	}
	r.SetWorkFactor(wf)
	aw, err := age.Encrypt(w, r)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if _, err := aw.Write(plain); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return skipped, nil
}

// ParseBackup reads a Latchkey backup (binary or ASCII-armored age). A
// wrong passphrase returns an error wrapping ErrPassphrase.
func ParseBackup(data []byte, passphrase func() ([]byte, error)) ([]Entry, error) {
	var src io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte(armor.Header)) {
		src = armor.NewReader(bytes.NewReader(bytes.TrimSpace(data)))
	}
	if passphrase == nil {
		return nil, fmt.Errorf("backup: %w", ErrNeedPassphrase)
	}
	pass, err := passphrase()
	if err != nil {
		return nil, fmt.Errorf("backup: password: %w", err)
	}
	defer clear(pass)
	id, err := age.NewScryptIdentity(string(pass))
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	id.SetMaxWorkFactor(backupMaxWorkFactor)
	r, err := age.Decrypt(src, id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) || errors.Is(err, age.ErrIncorrectIdentity) {
			return nil, fmt.Errorf("backup: %w", ErrPassphrase)
		}
		return nil, fmt.Errorf("%w: backup: %v", ErrCorrupt, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("%w: backup: %v", ErrCorrupt, err)
	}
	defer clear(plain)
	if len(plain) > MaxInput {
		return nil, fmt.Errorf("backup: %w", ErrTooLarge)
	}
	var f backupFile
	if err := json.Unmarshal(plain, &f); err != nil {
		return nil, fmt.Errorf("%w: backup: %s", ErrCorrupt, jsonProblem(err))
	}
	if f.Format != backupMagic || f.Version != 1 {
		return nil, fmt.Errorf("%w: backup: not a version 1 Latchkey backup", ErrCorrupt)
	}
	if len(f.Accounts) > MaxEntries {
		return nil, tooMany()
	}
	entries := make([]Entry, 0, len(f.Accounts))
	for i, a := range f.Accounts {
		e := Entry{ID: a.ID, Tags: a.Tags, Order: a.Order, Created: a.Created}
		k := &e.Key
		k.Issuer, k.Account, k.Type, k.Algorithm = a.Issuer, a.Name, a.Type, a.Algorithm
		k.Digits, k.Period, k.Counter = a.Digits, a.Period, a.Counter
		if k.Secret, err = otp.DecodeSecret(a.Secret); err == nil {
			err = check(&e)
		}
		if err == nil && e.Unsupported != "" {
			err = errors.New(e.Unsupported)
		}
		if err != nil {
			return nil, &EntryError{Where: fmt.Sprintf("account %d", i+1), Label: e.Label(), Err: err}
		}
		entries = append(entries, e)
	}
	return entries, nil
}
