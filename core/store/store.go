// Package store keeps Latchkey's accounts: their metadata and their
// secrets, in one of two backends behind one API.
//
//   - keyring: each secret is an item in the OS keyring (service "latchkey",
//     user = the account id), through github.com/zalando/go-keyring; the
//     metadata, never a secret, is in accounts.json under the home folder.
//   - file: one vault file (vault.age) encrypted with age under a scrypt
//     passphrase holds metadata and secrets, for hosts without a keyring.
//
// The home folder is LATCHKEY_HOME, else the user config dir's "latchkey".
// It also holds config.json (the remembered backend) and latchkey.lock.
//
// Every change is a read-modify-write under an exclusive file lock, so a
// desktop app and a terminal UI can run at once; files are replaced
// atomically (temp file, fsync, rename, fsync of the folder), so a crash
// leaves either the old or the new file. In the keyring backend a secret
// is written before the metadata that names it and deleted after, so a
// crash can leave an orphan keyring item but never an account without its
// secret. A corrupt accounts.json or vault is reported with [ErrCorrupt]
// and moved aside (renamed with a ".corrupt-TIME" suffix), never
// overwritten.
//
// This is the only package that imports go-keyring.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"latchkey/core/otp"
)

// Backend names where secrets are kept.
type Backend string

// The backends.
const (
	Keyring Backend = "keyring"
	File    Backend = "file"
)

// ParseBackend accepts "keyring" or "file".
func ParseBackend(s string) (Backend, error) {
	switch Backend(s) {
	case Keyring, File:
		return Backend(s), nil
	}
	return "", fmt.Errorf("%w: unknown store %q (want keyring or file)", ErrInvalid, s)
}

// Errors returned by the store. None of them ever contains a secret.
var (
	ErrNotFound  = errors.New("no such account")
	ErrDuplicate = errors.New("an account with this issuer and name already exists")
	// ErrIDTaken means AddMany was asked to restore an account under an id
	// that is already stored (or given twice).
	ErrIDTaken = errors.New("an account with this id already exists")
	// ErrKeyringUnavailable is one sentence a user can act on; the D-Bus
	// or OS error behind it is reachable with errors.Unwrap only.
	ErrKeyringUnavailable = errors.New("the OS keyring is unavailable (no Secret Service, locked, or no D-Bus session); use the encrypted file store with --store file or LATCHKEY_STORE=file")
	ErrBadPassphrase      = errors.New("wrong passphrase for the vault")
	ErrCorrupt            = errors.New("store file is corrupt")
	// ErrNoPassphrase means the file backend needed a passphrase and
	// Options.Passphrase was nil.
	ErrNoPassphrase = errors.New("the file store needs a passphrase")
	// ErrTooLarge: the change would make the store's file larger than it
	// reads back (16 MiB); nothing was changed.
	ErrTooLarge = errors.New("the store would grow past 16 MiB; nothing was changed")
	// ErrInvalid wraps a rejected account or argument.
	ErrInvalid = errors.New("invalid account")
	// ErrRolledBack: the store's file is older than one this computer has
	// seen (put back from a copy), so HOTP counters may have been rewound;
	// HOTP codes are refused until AcceptRollback.
	ErrRolledBack = errors.New("the store's file is older than one this computer has seen before; HOTP counters may have been rewound")
)

// keyringError carries the cause of ErrKeyringUnavailable without putting
// it in the message.
type keyringError struct{ cause error }

func (e *keyringError) Error() string        { return ErrKeyringUnavailable.Error() }
func (e *keyringError) Is(target error) bool { return target == ErrKeyringUnavailable }
func (e *keyringError) Unwrap() error        { return e.cause }

// Service is the keyring service name of every item Latchkey writes.
const Service = "latchkey"

// File names under the home folder.
const (
	AccountsFile = "accounts.json"
	VaultFile    = "vault.age"
	ConfigFile   = "config.json"
	LockFile     = "latchkey.lock"
	// DesktopFile is the desktop app's settings (the theme); the store
	// neither reads nor writes it, but counts it as Latchkey's own.
	DesktopFile = "desktop.json"
)

// KeyringAPI is the part of go-keyring the store uses; tests inject a
// mock.
type KeyringAPI interface {
	Set(service, user, password string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

// Options configure Open. The zero value opens the remembered backend in
// DefaultHome.
type Options struct {
	// Home is the folder of accounts.json, the vault and the config;
	// DefaultHome(os.Getenv) when "".
	Home string
	// Backend is the store to use; "" means the remembered choice, else the
	// keyring if it answers, else an error naming --store file.
	Backend Backend
	// Passphrase returns the vault passphrase (file backend); it is called
	// only when the vault must be opened or created.
	Passphrase func() ([]byte, error)
	// NewPassphrase, if set, is called instead of Passphrase when a new
	// vault is created, so that a prompt can ask twice.
	NewPassphrase func() ([]byte, error)
	// Keyring replaces the OS keyring (tests use go-keyring's mock); nil
	// means the real one.
	Keyring KeyringAPI
	// KeyringTimeout bounds each call to the OS keyring;
	// DefaultKeyringTimeout when 0. A call that runs out is
	// ErrKeyringUnavailable.
	KeyringTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// WorkFactor is the age scrypt work factor (log2 N) used when the vault
	// is written; 0 keeps age's default (18). Tests lower it.
	WorkFactor int
	// Memory, when set, is where the file store keeps what it decrypts and
	// holds: the vault's plaintext while it is read, every secret and
	// device key of the vault, and the cache of fetched secrets. It
	// returns n zeroed bytes (the agent's locked pages) or nil, and the
	// store never hands them out (callers get copies) nor uses them after
	// Close, which wipes them. nil keeps them on the Go heap.
	Memory func(n int) []byte
}

// DefaultHome returns LATCHKEY_HOME, else os.UserConfigDir()/latchkey.
func DefaultHome(getenv func(string) string) (string, error) {
	if h := getenv("LATCHKEY_HOME"); h != "" {
		return h, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("store: no config folder (set LATCHKEY_HOME): %w", err)
	}
	return filepath.Join(dir, "latchkey"), nil
}

// Store is an open account store. Its methods are safe for concurrent
// use.
type Store struct {
	home    string
	opts    Options
	kr      KeyringAPI
	now     func() time.Time
	lockMu  sync.Mutex // serializes this process's file-lock holders
	mu      sync.Mutex // guards the fields below
	backend Backend
	cache   *snapshot
	pass    []byte // file backend, once asked
	secrets map[string]otp.Secret
	// warnings are what Open found wrong but could go on with.
	warnings []string
	// rolledBack is set when the file read is older than one seen before
	// (generation.go); HOTP codes are refused while it is.
	rolledBack error
}

// Warnings returns what Open found wrong with the home folder but could
// go on with (a folder other users could read), for the caller to show.
func (s *Store) Warnings() []string { return slices.Clone(s.warnings) }

// snapshot is the content of the metadata file (or vault) as last read.
type snapshot struct {
	accounts []Account
	secrets  map[string]otp.Secret // file backend only
	devKeys  map[string][]byte     // file backend only: paired accounts' device keys
	info     os.FileInfo           // nil when the file does not exist
	gen      uint64                // the file's generation (generation.go)
}

// Open opens the store in opts.Home, creating the folder if needed. It
// reads nothing from the keyring and asks for no passphrase: that happens
// when an account or secret is first needed.
//
// On first use (no backend given or remembered, no files) Open probes the
// keyring; if it does not answer, Open returns ErrKeyringUnavailable and
// remembers nothing, so that a caller may offer the file store and open
// again with Backend File, which is then remembered.
func Open(ctx context.Context, opts Options) (*Store, error) {
	home := opts.Home
	if home == "" {
		h, err := DefaultHome(os.Getenv)
		if err != nil {
			return nil, err
		}
		home = h
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	s := &Store{home: home, opts: opts, kr: opts.Keyring, now: opts.Now, secrets: map[string]otp.Secret{}}
	s.warnings = checkHome(home)
	if s.kr == nil {
		t := opts.KeyringTimeout
		if t <= 0 {
			t = DefaultKeyringTimeout
		}
		s.kr = osKeyring{timeout: t}
	}
	if s.now == nil {
		s.now = time.Now
	}
	remembered, err := s.readConfig()
	if err != nil {
		return nil, err
	}
	b := opts.Backend
	switch {
	case b != "":
		if _, err := ParseBackend(string(b)); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	case remembered != "":
		b = remembered
	case exists(s.path(VaultFile)):
		b = File
	case exists(s.path(AccountsFile)):
		b = Keyring
	default:
		// First use: the keyring if it answers.
		if _, err := s.kr.Get(Service, "latchkey-probe"); err != nil && !isNotFound(err) {
			return nil, fmt.Errorf("store: %w", &keyringError{err})
		}
		b = Keyring
	}
	s.backend = b
	// Latchkey 0.x cached where each keyring item was in this file; the
	// keyring is now only read through go-keyring, and a stale cache goes.
	_ = os.Remove(s.path("keyring-items"))
	if remembered == "" {
		if err := s.writeConfig(b); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Home returns the folder the store keeps its files in.
func (s *Store) Home() string { return s.home }

// Backend returns the backend in use.
func (s *Store) Backend() Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backend
}

// Close forgets cached secrets and device keys: it wipes them.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.secrets {
		sec.Wipe()
	}
	if s.cache != nil {
		for _, sec := range s.cache.secrets {
			sec.Wipe()
		}
		for _, k := range s.cache.devKeys {
			clear(k)
		}
	}
	s.secrets = map[string]otp.Secret{}
	s.cache = nil
	clear(s.pass)
	s.pass = nil
	return nil
}

func (s *Store) path(name string) string { return filepath.Join(s.home, name) }

// keep returns the copy of b the store holds: in Options.Memory when it
// has room (b is wiped), else b itself.
func (s *Store) keep(b []byte) []byte {
	if s.opts.Memory == nil || len(b) == 0 {
		return b
	}
	m := s.opts.Memory(len(b))
	if len(m) != len(b) {
		return b
	}
	copy(m, b)
	clear(b)
	return m
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// List returns every account, sorted by Order then Created. It re-reads
// the store when another process changed it.
func (s *Store) List(ctx context.Context) ([]Account, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Account, len(snap.accounts))
	for i, a := range snap.accounts {
		a.Tags = append([]string(nil), a.Tags...)
		out[i] = a
	}
	sortAccounts(out)
	return out, nil
}

// Get returns one account by id.
func (s *Store) Get(ctx context.Context, id string) (Account, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return Account{}, err
	}
	for _, a := range snap.accounts {
		if a.ID == id {
			a.Tags = slices.Clone(a.Tags)
			return a, nil
		}
	}
	return Account{}, fmt.Errorf("store: get %q: %w", id, ErrNotFound)
}

// Find returns the accounts matching query case-insensitively on the id,
// issuer, name or "issuer:name"; exact matches win over substring
// matches. No match is an empty slice and no error.
func (s *Store) Find(ctx context.Context, query string) ([]Account, error) {
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	out := match(snap.accounts, query)
	for i := range out {
		out[i].Tags = slices.Clone(out[i].Tags)
	}
	sortAccounts(out)
	return out, nil
}

// Secret returns an account's secret. Each secret is fetched from the
// backend once per Store and cached; the caller gets its own copy, which
// it may Wipe.
func (s *Store) Secret(ctx context.Context, id string) (otp.Secret, error) {
	s.mu.Lock()
	if sec, ok := s.secrets[id]; ok {
		s.mu.Unlock()
		return slices.Clone(sec), nil
	}
	s.mu.Unlock()
	snap, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	if !hasID(snap.accounts, id) {
		return nil, fmt.Errorf("store: secret %q: %w", id, ErrNotFound)
	}
	var sec otp.Secret
	if s.Backend() == File {
		sec = snap.secrets[id]
	} else {
		sec, err = s.keyringGet(id)
		if err != nil {
			return nil, fmt.Errorf("store: secret %q: %w", id, err)
		}
	}
	s.mu.Lock()
	s.secrets[id] = s.keep(slices.Clone(sec))
	s.mu.Unlock()
	return slices.Clone(sec), nil
}

func hasID(as []Account, id string) bool {
	for _, a := range as {
		if a.ID == id {
			return true
		}
	}
	return false
}

// Generator returns a code generator for an account.
func (s *Store) Generator(ctx context.Context, id string) (*otp.Generator, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	sec, err := s.Secret(ctx, id)
	if err != nil {
		return nil, err
	}
	g, err := otp.NewGenerator(sec, a.Options())
	if err != nil {
		return nil, fmt.Errorf("store: generator %q: %w", id, err)
	}
	return g, nil
}

// Secrets returns every account's secret, fetched concurrently from the
// keyring (for UIs that show all codes, and for export). When only some
// items are missing from the keyring, it returns the others with a
// *MissingError naming the broken accounts; any other failure is an
// error alone.
func (s *Store) Secrets(ctx context.Context) (map[string]otp.Secret, error) {
	as, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]otp.Secret, len(as))
	var missing []string
	s.mu.Lock()
	for _, a := range as {
		if sec, ok := s.secrets[a.ID]; ok {
			out[a.ID] = slices.Clone(sec)
		} else {
			missing = append(missing, a.ID)
		}
	}
	s.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	if s.Backend() == File {
		for _, id := range missing {
			sec, err := s.Secret(ctx, id)
			if err != nil {
				return nil, err
			}
			out[id] = sec
		}
		return out, nil
	}
	type result struct {
		id  string
		sec otp.Secret
		err error
	}
	const workers = 16
	ids := make(chan string)
	results := make(chan result)
	var wg sync.WaitGroup
	for range min(workers, len(missing)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				sec, err := s.keyringGet(id)
				results <- result{id, sec, err}
			}
		}()
	}
	go func() {
		defer close(ids)
		for _, id := range missing {
			select {
			case ids <- id:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var firstErr error
	var missing2 []string
	for r := range results {
		switch {
		case errors.Is(r.err, ErrNotFound):
			missing2 = append(missing2, r.id)
		case r.err != nil:
			if firstErr == nil {
				firstErr = fmt.Errorf("store: secret %q: %w", r.id, r.err)
			}
		default:
			out[r.id] = r.sec
		}
	}
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	s.mu.Lock()
	for id, sec := range out {
		s.secrets[id] = s.keep(slices.Clone(sec))
	}
	s.mu.Unlock()
	if len(missing2) > 0 {
		slices.Sort(missing2)
		return out, &MissingError{IDs: missing2}
	}
	return out, nil
}

// MissingError is Secrets' answer when some accounts' keyring items are
// gone (deleted behind Latchkey's back): the map holds every other
// secret, and IDs names the broken accounts. It matches ErrNotFound.
type MissingError struct{ IDs []string }

func (e *MissingError) Error() string {
	if len(e.IDs) == 1 {
		return "the keyring has no secret for one account"
	}
	return fmt.Sprintf("the keyring has no secret for %d accounts", len(e.IDs))
}

// Is makes a MissingError match ErrNotFound.
func (e *MissingError) Is(target error) bool { return target == ErrNotFound }

// Add stores a new account with its secret and returns it with its id,
// order and creation time set. The same issuer and name twice is
// ErrDuplicate unless force is set.
func (s *Store) Add(ctx context.Context, a Account, secret otp.Secret, force bool) (Account, error) {
	if err := a.normalize(); err != nil {
		return Account{}, fmt.Errorf("store: add: %w", err)
	}
	if len(secret) == 0 || len(secret) > otp.MaxSecretSize {
		return Account{}, fmt.Errorf("store: add: %w: %v", ErrInvalid, otp.ErrSecret)
	}
	id, err := newID()
	if err != nil {
		return Account{}, fmt.Errorf("store: add: %w", err)
	}
	a.ID = id
	a.Created = s.now().UTC()
	put := false // the keyring item is written, to take back on failure
	err = s.mutate(ctx, func(st *snapshot) error {
		if !force {
			for _, b := range st.accounts {
				if sameKey(a, b) {
					return fmt.Errorf("%w: %s", ErrDuplicate, b.Label())
				}
			}
		}
		a.Order = nextOrder(st.accounts)
		if err := s.putSecret(st, a.ID, secret); err != nil {
			return err
		}
		put = true
		st.accounts = append(st.accounts, a)
		return nil
	})
	if err != nil {
		if put {
			s.dropSecrets([]string{a.ID})
		}
		return Account{}, fmt.Errorf("store: add: %w", err)
	}
	s.remember(a.ID, secret)
	return a, nil
}

// NewAccount is one account for AddMany.
type NewAccount struct {
	Account Account
	Secret  otp.Secret
}

// AddMany stores several accounts at once, all or nothing (for import).
// A duplicate of a stored account, or within items, is ErrDuplicate.
//
// An item whose Account has an ID is restored as it was (from a backup):
// its ID, Order and, when not zero, Created are kept. A malformed ID is
// ErrInvalid; one already stored, or given twice, is ErrIDTaken. Other
// items get a new ID, the current time, and orders after every stored or
// restored account.
func (s *Store) AddMany(ctx context.Context, items []NewAccount) ([]Account, error) {
	out := make([]Account, len(items))
	restored := make([]bool, len(items))
	now := s.now().UTC()
	for i, it := range items {
		a := it.Account
		if err := a.normalize(); err != nil {
			return nil, fmt.Errorf("store: add %d: %w", i+1, err)
		}
		if len(it.Secret) == 0 || len(it.Secret) > otp.MaxSecretSize {
			return nil, fmt.Errorf("store: add %d: %w: %v", i+1, ErrInvalid, otp.ErrSecret)
		}
		switch {
		case a.ID == "":
			id, err := newID()
			if err != nil {
				return nil, err
			}
			a.ID, a.Created = id, now
		case !validID(a.ID):
			return nil, fmt.Errorf("store: add %d: %w: bad account id", i+1, ErrInvalid)
		default:
			restored[i] = true
			a.Created = a.Created.UTC()
			if a.Created.IsZero() {
				a.Created = now
			}
		}
		out[i] = a
	}
	var done []string // keyring items written, to take back on failure
	err := s.mutate(ctx, func(st *snapshot) error {
		order := nextOrder(st.accounts)
		ids := make(map[string]bool, len(st.accounts)+len(out))
		for _, b := range st.accounts {
			ids[b.ID] = true
		}
		for i, a := range out {
			if restored[i] {
				order = max(order, a.Order+1)
			}
		}
		for i := range out {
			for _, b := range append(st.accounts, out[:i]...) {
				if sameKey(out[i], b) {
					return fmt.Errorf("%w: %s", ErrDuplicate, b.Label())
				}
			}
			if ids[out[i].ID] {
				return fmt.Errorf("%w: %s (%s)", ErrIDTaken, out[i].ID, out[i].Label())
			}
			ids[out[i].ID] = true
			if !restored[i] {
				out[i].Order = order
				order++
			}
		}
		done = done[:0]
		for i, a := range out {
			if err := s.putSecret(st, a.ID, items[i].Secret); err != nil {
				return err
			}
			done = append(done, a.ID)
		}
		st.accounts = append(st.accounts, out...)
		return nil
	})
	if err != nil {
		s.dropSecrets(done)
		return nil, fmt.Errorf("store: add: %w", err)
	}
	for i, a := range out {
		s.remember(a.ID, items[i].Secret)
	}
	return out, nil
}

func nextOrder(as []Account) int {
	n := 0
	for _, a := range as {
		n = max(n, a.Order+1)
	}
	return n
}

func (s *Store) remember(id string, sec otp.Secret) {
	s.mu.Lock()
	s.secrets[id] = s.keep(append(otp.Secret(nil), sec...))
	s.mu.Unlock()
}

// NextHOTP returns the code of a HOTP account at its counter, after the
// incremented counter was persisted: a code is never shown twice, even if
// the process dies right after.
func (s *Store) NextHOTP(ctx context.Context, id string) (string, Account, error) {
	sec, err := s.Secret(ctx, id)
	if err != nil {
		return "", Account{}, err
	}
	if err := s.checkKeyringGeneration(ctx); err != nil {
		return "", Account{}, fmt.Errorf("store: next code %q: %w", id, err)
	}
	if err := s.Rollback(); err != nil {
		return "", Account{}, fmt.Errorf("store: next code %q: %w", id, err)
	}
	var used uint64
	var acc Account
	err = s.mutate(ctx, func(st *snapshot) error {
		i := indexOf(st.accounts, id)
		if i < 0 {
			return ErrNotFound
		}
		a := &st.accounts[i]
		if a.Type != otp.HOTP {
			return fmt.Errorf("%w: %s is not a HOTP account", ErrInvalid, a.Label())
		}
		used = a.Counter
		a.Counter++
		acc = *a
		return nil
	})
	if err != nil {
		return "", Account{}, fmt.Errorf("store: next code %q: %w", id, err)
	}
	g, err := otp.NewGenerator(sec, acc.Options())
	if err != nil {
		return "", Account{}, fmt.Errorf("store: next code %q: %w", id, err)
	}
	return g.Code(used), acc, nil
}

func indexOf(as []Account, id string) int {
	for i, a := range as {
		if a.ID == id {
			return i
		}
	}
	return -1
}

// Update changes one account under the file lock: fn may rename it or set
// its tags or order; its id, type and created time stay. Renaming onto
// another account's issuer and name is ErrDuplicate.
func (s *Store) Update(ctx context.Context, id string, fn func(*Account) error) (Account, error) {
	var out Account
	err := s.mutate(ctx, func(st *snapshot) error {
		i := indexOf(st.accounts, id)
		if i < 0 {
			return ErrNotFound
		}
		a := st.accounts[i]
		a.Tags = append([]string(nil), a.Tags...)
		if err := fn(&a); err != nil {
			return err
		}
		old := st.accounts[i]
		a.ID, a.Type, a.Created = old.ID, old.Type, old.Created
		if err := a.normalize(); err != nil {
			return err
		}
		for j, b := range st.accounts {
			if j != i && sameKey(a, b) {
				return fmt.Errorf("%w: %s", ErrDuplicate, b.Label())
			}
		}
		st.accounts[i] = a
		out = a
		return nil
	})
	if err != nil {
		return Account{}, fmt.Errorf("store: update %q: %w", id, err)
	}
	return out, nil
}

// Move moves an account delta places in the list order (negative is up),
// clamped to the ends, and renumbers every account's Order from 0.
func (s *Store) Move(ctx context.Context, id string, delta int) error {
	err := s.mutate(ctx, func(st *snapshot) error {
		sortAccounts(st.accounts)
		i := indexOf(st.accounts, id)
		if i < 0 {
			return ErrNotFound
		}
		j := min(max(i+delta, 0), len(st.accounts)-1)
		a := st.accounts[i]
		if j < i {
			copy(st.accounts[j+1:i+1], st.accounts[j:i])
		} else {
			copy(st.accounts[i:j], st.accounts[i+1:j+1])
		}
		st.accounts[j] = a
		for k := range st.accounts {
			st.accounts[k].Order = k
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: move %q: %w", id, err)
	}
	return nil
}

// Delete removes an account and its secret.
func (s *Store) Delete(ctx context.Context, id string) error {
	var gone bool
	var vaulted otp.Secret // the file store's copy, shared with the old snapshot
	err := s.mutate(ctx, func(st *snapshot) error {
		i := indexOf(st.accounts, id)
		if i < 0 {
			return ErrNotFound
		}
		st.accounts = append(st.accounts[:i], st.accounts[i+1:]...)
		if st.secrets != nil {
			vaulted = st.secrets[id]
			delete(st.secrets, id)
			delete(st.devKeys, id)
		}
		gone = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete %q: %w", id, err)
	}
	if gone && s.Backend() == Keyring {
		// After the metadata: a crash here leaves an orphan item, never an
		// account without a secret.
		if err := s.kr.Delete(Service, id); err != nil && !isNotFound(err) {
			return fmt.Errorf("store: delete %q: %w", id, &keyringError{err})
		}
		_ = s.kr.Delete(Service, deviceItem(id)) // most accounts have none
	}
	// Every copy this process keeps goes: the cache of fetched secrets and
	// the vault's, which only the snapshot just replaced still held.
	vaulted.Wipe()
	s.mu.Lock()
	if sec, ok := s.secrets[id]; ok {
		sec.Wipe()
		delete(s.secrets, id)
	}
	s.mu.Unlock()
	return nil
}

// putSecret writes a secret into the backend for an account being added.
func (s *Store) putSecret(st *snapshot, id string, sec otp.Secret) error {
	if s.Backend() == File {
		st.secrets[id] = s.keep(append(otp.Secret(nil), sec...))
		return nil
	}
	if err := s.kr.Set(Service, id, sec.Base32()); err != nil {
		return &keyringError{err}
	}
	return nil
}

// dropSecrets deletes keyring items written for accounts whose metadata
// was not saved after all (the file store keeps secrets in the snapshot
// that was thrown away).
func (s *Store) dropSecrets(ids []string) {
	if s.Backend() != Keyring {
		return
	}
	for _, id := range ids {
		_ = s.kr.Delete(Service, id)
	}
}

func (s *Store) keyringGet(id string) (otp.Secret, error) {
	v, err := s.kr.Get(Service, id)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("the keyring has no secret for this account: %w", ErrNotFound)
		}
		return nil, &keyringError{err}
	}
	sec, err := otp.DecodeSecret(v)
	if err != nil {
		return nil, fmt.Errorf("%w: the keyring item is not a base32 secret", ErrCorrupt)
	}
	return sec, nil
}
