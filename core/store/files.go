package store

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"latchkey/core/atomicfile"
	"latchkey/core/otp"
)

// maxFileSize bounds what the store reads: 200 accounts take about 60 KiB.
const maxFileSize = 16 << 20

func (s *Store) metaName() string {
	if s.Backend() == File {
		return VaultFile
	}
	return AccountsFile
}

// current returns the latest snapshot, re-reading the file only when it
// changed since the last read (another process replaced it). Reads take
// no lock: writers replace files atomically.
func (s *Store) current(ctx context.Context) (*snapshot, error) {
	return s.snapshot(ctx, false)
}

// snapshot is current; locked tells whether the caller holds the file
// lock.
func (s *Store) snapshot(ctx context.Context, locked bool) (*snapshot, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	c := s.cache
	s.mu.Unlock()
	if c != nil {
		fi, err := os.Stat(s.path(s.metaName()))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("store: %w", err)
		}
		if sameFile(c.info, fi) {
			return c, nil
		}
	}
	snap, err := s.load(locked)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache = snap
	s.mu.Unlock()
	return snap, nil
}

func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// load reads the backend's file.
func (s *Store) load(locked bool) (*snapshot, error) {
	name := s.metaName()
	p := s.path(name)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		snap := &snapshot{}
		if name == VaultFile {
			snap.secrets = map[string]otp.Secret{}
		}
		return snap, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(fi.Size(), maxFileSize)+bytes.MinRead))
	_, err = buf.ReadFrom(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", name, err)
	}
	data := buf.Bytes()
	if len(data) > maxFileSize {
		return nil, s.corrupt(locked, name, fi, errors.New("file too large"))
	}
	if name == AccountsFile {
		as, err := decodeAccounts(data)
		if err != nil {
			return nil, s.corrupt(locked, name, fi, err)
		}
		snap := &snapshot{accounts: as, info: fi, gen: decodeGeneration(data)}
		s.checkGeneration(name, snap.gen)
		return snap, nil
	}
	pass, err := s.passphrase(false)
	if err != nil {
		return nil, err
	}
	var into []byte
	if s.opts.Memory != nil {
		into = s.opts.Memory(len(data)) // the plaintext is shorter than the file
		if len(into) < len(data) {
			into = nil
		}
	}
	plain, err := decrypt(data, pass, into)
	if errors.Is(err, ErrWorkFactor) {
		return nil, fmt.Errorf("store: %s: %w", name, err)
	}
	if errors.Is(err, ErrBadPassphrase) {
		s.mu.Lock()
		clear(s.pass)
		s.pass = nil
		s.mu.Unlock()
		return nil, fmt.Errorf("store: %s: %w", name, err)
	}
	if err != nil {
		return nil, s.corrupt(locked, name, fi, err)
	}
	as, secrets, err := decodeVault(plain)
	gen := decodeGeneration(plain)
	devKeys := vaultDeviceKeys(plain)
	clear(plain)
	if err != nil {
		return nil, s.corrupt(locked, name, fi, err)
	}
	for id, sec := range secrets {
		secrets[id] = s.keep(sec)
	}
	for id, k := range devKeys {
		devKeys[id] = s.keep(k)
	}
	s.checkGeneration(name, gen)
	return &snapshot{accounts: as, secrets: secrets, devKeys: devKeys, info: fi, gen: gen}, nil
}

// corrupt moves a corrupt file aside (unless another process already
// replaced it) and returns ErrCorrupt naming where it went.
func (s *Store) corrupt(locked bool, name string, fi os.FileInfo, cause error) error {
	p := s.path(name)
	aside := fmt.Sprintf("%s.corrupt-%s", p, s.now().UTC().Format("20060102T150405.000000000Z"))
	moveAside := func() error {
		now, err := os.Stat(p)
		if err != nil || !sameFile(fi, now) {
			return errors.New("changed while being read")
		}
		return os.Rename(p, aside)
	}
	var err error
	if locked {
		err = moveAside()
	} else {
		err = s.withLock(context.Background(), moveAside)
	}
	if err != nil {
		return fmt.Errorf("store: %s: %w (%v)", name, ErrCorrupt, cause)
	}
	return fmt.Errorf("store: %s: %w (%v); it was kept as %s and a new one will be started", name, ErrCorrupt, cause, filepath.Base(aside))
}

func (s *Store) passphrase(create bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pass != nil {
		return s.pass, nil
	}
	fn := s.opts.Passphrase
	if create && s.opts.NewPassphrase != nil {
		fn = s.opts.NewPassphrase
	}
	if fn == nil {
		return nil, fmt.Errorf("store: %w", ErrNoPassphrase)
	}
	p, err := fn()
	if err != nil {
		return nil, fmt.Errorf("store: passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("store: %w: it is empty", ErrNoPassphrase)
	}
	s.pass = p
	return p, nil
}

// withLock runs fn holding the store's exclusive file lock.
func (s *Store) withLock(ctx context.Context, fn func() error) error {
	s.lockMu.Lock()
	defer s.lockMu.Unlock()
	unlock, err := lockFile(ctx, s.path(LockFile))
	if err != nil {
		return fmt.Errorf("store: lock: %w", err)
	}
	defer unlock()
	return fn()
}

// mutate is every read-modify-write: under the file lock it takes the
// latest snapshot, lets fn change a copy, and writes it atomically.
func (s *Store) mutate(ctx context.Context, fn func(*snapshot) error) error {
	return s.withLock(ctx, func() error {
		snap, err := s.snapshot(ctx, true)
		if err != nil {
			return err
		}
		work := &snapshot{accounts: slices.Clone(snap.accounts), gen: snap.gen + 1}
		if s.Rollback() != nil {
			// Until it is accepted, a file put back stays older than the
			// highest seen, however often it is written.
			work.gen = snap.gen
		}
		if snap.secrets != nil {
			work.secrets = maps.Clone(snap.secrets)
			work.devKeys = maps.Clone(snap.devKeys)
			if work.devKeys == nil {
				work.devKeys = map[string][]byte{}
			}
		}
		if err := fn(work); err != nil {
			return err
		}
		s.removeTemps()
		if err := s.save(work); err != nil {
			return err
		}
		s.mu.Lock()
		s.cache = work
		s.mu.Unlock()
		return nil
	})
}

// removeTemps deletes temp files left by a writer that died between
// creating and renaming them; only lock holders write the store's files,
// so under the lock every temp file of theirs is stale.
func (s *Store) removeTemps() {
	m, _ := filepath.Glob(filepath.Join(s.home, ".*.tmp-*"))
	for _, p := range m {
		os.Remove(p)
	}
}

// save writes a snapshot to the backend's file and records its FileInfo.
func (s *Store) save(st *snapshot) error {
	var data []byte
	var err error
	name := s.metaName()
	if name == AccountsFile {
		data, err = encodeAccounts(st.accounts, st.gen)
	} else {
		var plain []byte
		plain, err = encodeVaultWith(st.accounts, st.secrets, st.devKeys, st.gen)
		if err == nil {
			var pass []byte
			pass, err = s.passphrase(!exists(s.path(VaultFile)))
			if err != nil {
				return err
			}
			data, err = encrypt(plain, pass, s.opts.WorkFactor)
			clear(plain)
		}
	}
	if err != nil {
		return fmt.Errorf("store: encode %s: %w", name, err)
	}
	fi, err := writeAtomic(s.path(name), data)
	if err != nil {
		return err
	}
	st.info = fi
	s.noteGeneration(name, st.gen)
	return nil
}

// writeAtomic replaces path with data, mode 0600 (atomicfile.Write: a
// crash leaves the old or the new file, never a mix), and returns the new
// file's info. A file larger than the store reads back (maxFileSize) is
// never written: the old one stays.
func writeAtomic(path string, data []byte) (os.FileInfo, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("store: %w", ErrTooLarge)
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("store: write: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: write: %w", err)
	}
	return fi, nil
}

type config struct {
	Backend Backend `json:"backend"`
}

func (s *Store) readConfig() (Backend, error) {
	p := s.path(ConfigFile)
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	var c config
	if json.Unmarshal(data, &c) != nil {
		// Only a preference: keep the bad file aside and choose afresh.
		fi, _ := os.Stat(p)
		_ = s.corrupt(false, ConfigFile, fi, errors.New("bad JSON"))
		return "", nil
	}
	if _, err := ParseBackend(string(c.Backend)); err != nil {
		return "", nil
	}
	return c.Backend, nil
}

func (s *Store) writeConfig(b Backend) error {
	data, _ := json.Marshal(config{Backend: b})
	return s.withLock(context.Background(), func() error {
		_, err := writeAtomic(s.path(ConfigFile), append(data, '\n'))
		return err
	})
}

// Migrate moves every account to the other backend without loss: each
// secret is written, read back and compared before anything of the source
// is deleted, and the remembered backend switches only once the
// destination is complete. passphrase is the vault's passphrase when
// moving to the file backend (nil: Options.NewPassphrase or Passphrase).
// The destination must not already hold accounts.
func (s *Store) Migrate(ctx context.Context, to Backend, passphrase func() ([]byte, error)) error {
	if _, err := ParseBackend(string(to)); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	from := s.Backend()
	if from == to {
		return fmt.Errorf("store: migrate: %w: the store already uses the %s backend", ErrInvalid, to)
	}
	err := s.withLock(ctx, func() error {
		snap, err := s.snapshot(ctx, true)
		if err != nil {
			return err
		}
		secrets, devKeys := snap.secrets, snap.devKeys
		if from == Keyring {
			secrets = make(map[string]otp.Secret, len(snap.accounts))
			devKeys = map[string][]byte{}
			for _, a := range snap.accounts {
				sec, err := s.keyringGet(a.ID)
				if err != nil {
					return fmt.Errorf("secret of %s: %w", a.Label(), err)
				}
				secrets[a.ID] = sec
				if a.Pairing != nil {
					// A pairing whose key item is gone moves as it is:
					// broken before and after (`latchkey pair` again).
					k, err := s.keyringDeviceKey(a.ID)
					if err != nil && !errors.Is(err, ErrNotFound) {
						return fmt.Errorf("device key of %s: %w", a.Label(), err)
					}
					if err == nil {
						devKeys[a.ID] = k
					}
				}
			}
		}
		var dst *snapshot
		if to == File {
			dst, err = s.migrateToFile(snap.accounts, secrets, devKeys, passphrase)
		} else {
			dst, err = s.migrateToKeyring(snap.accounts, secrets, devKeys)
		}
		if err != nil {
			return err
		}
		if _, err := writeAtomic(s.path(ConfigFile), []byte(`{"backend":"`+string(to)+"\"}\n")); err != nil {
			return err
		}
		s.mu.Lock()
		s.backend = to
		s.cache = dst
		s.mu.Unlock()
		// The destination is complete and verified: now drop the source.
		if from == Keyring {
			for _, a := range snap.accounts {
				if err := s.kr.Delete(Service, a.ID); err != nil && !isNotFound(err) {
					return fmt.Errorf("accounts moved, but removing the old keyring items failed: %w", &keyringError{err})
				}
				if a.Pairing != nil {
					if err := s.kr.Delete(Service, deviceItem(a.ID)); err != nil && !isNotFound(err) {
						return fmt.Errorf("accounts moved, but removing the old keyring items failed: %w", &keyringError{err})
					}
				}
			}
			_ = s.kr.Delete(Service, s.generationUser()) // accounts.json's, which goes too
			return os.Remove(s.path(AccountsFile))
		}
		if err := os.Remove(s.path(VaultFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: migrate to %s: %w", to, err)
	}
	return nil
}

func (s *Store) migrateToFile(as []Account, secrets map[string]otp.Secret, devKeys map[string][]byte, passphrase func() ([]byte, error)) (*snapshot, error) {
	if exists(s.path(VaultFile)) {
		return nil, fmt.Errorf("%w: %s already exists; move it away first", ErrInvalid, VaultFile)
	}
	var pass []byte
	var err error
	if passphrase != nil {
		pass, err = passphrase()
		if err == nil && len(pass) == 0 {
			err = ErrNoPassphrase
		}
	} else {
		pass, err = s.passphrase(true)
	}
	if err != nil {
		return nil, fmt.Errorf("passphrase: %w", err)
	}
	gen := s.seenGeneration(VaultFile) + 1
	plain, err := encodeVaultWith(as, secrets, devKeys, gen)
	if err != nil {
		return nil, err
	}
	data, err := encrypt(plain, pass, s.opts.WorkFactor)
	if err != nil {
		return nil, err
	}
	fi, err := writeAtomic(s.path(VaultFile), data)
	if err != nil {
		return nil, err
	}
	// Read back what is on disk, decrypt it and compare.
	fail := func(err error) (*snapshot, error) {
		os.Remove(s.path(VaultFile))
		return nil, fmt.Errorf("read-back of the new vault failed, nothing was moved: %w", err)
	}
	back, err := os.ReadFile(s.path(VaultFile))
	if err != nil {
		return fail(err)
	}
	plain2, err := decrypt(back, pass, nil)
	if err != nil {
		return fail(err)
	}
	as2, sec2, err := decodeVault(plain2)
	if err != nil {
		return fail(err)
	}
	if err := compareAll(as, secrets, as2, sec2); err != nil {
		return fail(err)
	}
	keys2 := vaultDeviceKeys(plain2)
	if err := compareDeviceKeys(as, devKeys, keys2); err != nil {
		return fail(err)
	}
	for id, k := range keys2 {
		keys2[id] = s.keep(k)
	}
	s.mu.Lock()
	s.pass = pass
	s.mu.Unlock()
	s.noteGeneration(VaultFile, gen)
	return &snapshot{accounts: as2, secrets: sec2, devKeys: keys2, info: fi, gen: gen}, nil
}

func (s *Store) migrateToKeyring(as []Account, secrets map[string]otp.Secret, devKeys map[string][]byte) (*snapshot, error) {
	if prev, err := os.ReadFile(s.path(AccountsFile)); err == nil {
		if old, err := decodeAccounts(prev); err != nil || len(old) > 0 {
			return nil, fmt.Errorf("%w: %s already holds accounts; move it away first", ErrInvalid, AccountsFile)
		}
	}
	var done []string
	undo := func(err error) (*snapshot, error) {
		for _, id := range done {
			_ = s.kr.Delete(Service, id)
		}
		return nil, err
	}
	got := make(map[string]otp.Secret, len(as))
	for _, a := range as {
		if err := s.kr.Set(Service, a.ID, secrets[a.ID].Base32()); err != nil {
			return undo(&keyringError{err})
		}
		done = append(done, a.ID)
		back, err := s.keyringGet(a.ID)
		if err != nil {
			return undo(fmt.Errorf("read-back of %s: %w", a.Label(), err))
		}
		got[a.ID] = back
	}
	if err := compareAll(as, secrets, as, got); err != nil {
		return undo(err)
	}
	// Paired accounts' device keys, in their own items (see SetPairing).
	gotKeys := make(map[string][]byte, len(devKeys))
	for _, a := range as {
		k, ok := devKeys[a.ID]
		if !ok || a.Pairing == nil {
			continue
		}
		if err := s.kr.Set(Service, deviceItem(a.ID), base64.StdEncoding.EncodeToString(k)); err != nil {
			return undo(&keyringError{err})
		}
		done = append(done, deviceItem(a.ID))
		v, err := s.kr.Get(Service, deviceItem(a.ID))
		if err != nil {
			return undo(fmt.Errorf("read-back of the device key of %s: %w", a.Label(), &keyringError{err}))
		}
		if gotKeys[a.ID], err = base64.StdEncoding.DecodeString(v); err != nil {
			return undo(fmt.Errorf("read-back of the device key of %s: %w", a.Label(), ErrCorrupt))
		}
	}
	if err := compareDeviceKeys(as, devKeys, gotKeys); err != nil {
		return undo(err)
	}
	gen := s.seenGeneration(AccountsFile) + 1
	data, err := encodeAccounts(as, gen)
	if err != nil {
		return undo(err)
	}
	fi, err := writeAtomic(s.path(AccountsFile), data)
	if err != nil {
		return undo(err)
	}
	s.noteGeneration(AccountsFile, gen)
	return &snapshot{accounts: slices.Clone(as), info: fi, gen: gen}, nil
}

func compareAll(as []Account, secrets map[string]otp.Secret, as2 []Account, sec2 map[string]otp.Secret) error {
	if len(as) != len(as2) || len(sec2) != len(as) {
		return fmt.Errorf("%d accounts written, %d read back", len(as), len(as2))
	}
	for i, a := range as {
		b := as2[i]
		if a.ID != b.ID || a.Label() != b.Label() || a.Counter != b.Counter || a.Options() != b.Options() || a.Type != b.Type {
			return fmt.Errorf("account %s differs after read-back", a.Label())
		}
		x, y := secrets[a.ID], sec2[a.ID]
		if len(x) == 0 || subtle.ConstantTimeCompare(x, y) != 1 {
			return fmt.Errorf("the secret of %s differs after read-back", a.Label())
		}
	}
	return nil
}

// compareDeviceKeys checks that every paired account's device key came
// back as it was written.
func compareDeviceKeys(as []Account, want, got map[string][]byte) error {
	for _, a := range as {
		x, ok := want[a.ID]
		if !ok || a.Pairing == nil {
			continue
		}
		if subtle.ConstantTimeCompare(x, got[a.ID]) != 1 {
			return fmt.Errorf("the device key of %s differs after read-back", a.Label())
		}
	}
	return nil
}
