package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"latchkey/core/atomicfile"
)

// Rollback detection. Every write of accounts.json or the vault carries a
// generation number one above the highest this computer has seen for that
// file, and the highest seen is kept in GenerationFile beside it. A file
// read with a lower generation was put back from an older copy: its HOTP
// counters may have been rewound, which would show codes again that were
// already used. The store then refuses HOTP codes (ErrRolledBack) until
// AcceptRollback; TOTP codes, listing and every other change go on, and the
// next write moves the generation past the highest seen.
//
// The copy beside the file stops an accidental restore (a backup copy of
// vault.age put back by hand) and a tool that replaces one file. On the
// keyring backend a second copy is kept in the keyring (generationItem),
// which putting back both files does not reach; the file store has no
// keyring to keep one in.

// GenerationFile holds the highest generation seen of each store file.
const GenerationFile = "generation.json"

// decodeGeneration reads the generation of accounts.json or a decrypted
// vault; 0 for files written before generations existed.
func decodeGeneration(b []byte) uint64 {
	var g struct {
		Generation uint64 `json:"generation"`
	}
	if json.Unmarshal(b, &g) != nil {
		return 0
	}
	return g.Generation
}

// seen reads GenerationFile; a missing or unreadable one is empty (it is
// a record, never a reason to stop).
func (s *Store) seen() map[string]uint64 {
	m := map[string]uint64{}
	data, err := os.ReadFile(s.path(GenerationFile))
	if err == nil {
		json.Unmarshal(data, &m)
	}
	return m
}

func (s *Store) seenGeneration(name string) uint64 { return s.seen()[name] }

// generationItem is the keyring item (service latchkey) holding the
// highest generation of accounts.json seen, on the keyring backend: a
// copy that replacing the files in the home folder does not reach.
const generationItem = "latchkey-generation"

// noteGeneration records gen as the highest seen of name, and on the
// keyring backend also in the keyring.
func (s *Store) noteGeneration(name string, gen uint64) {
	if name == AccountsFile && s.Backend() == Keyring && s.keyringGeneration() < gen {
		_ = s.kr.Set(Service, generationItem, strconv.FormatUint(gen, 10))
	}
	m := s.seen()
	if m[name] >= gen {
		return
	}
	m[name] = gen
	data, _ := json.Marshal(m)
	_ = atomicfile.Write(s.path(GenerationFile), data, 0o600)
}

// checkGeneration compares a file just read with the highest generation
// seen of it, and records a newer one.
func (s *Store) checkGeneration(name string, gen uint64) {
	seen := s.seenGeneration(name)
	var rb error
	if gen < seen {
		rb = &RollbackError{File: name, Generation: gen, Seen: seen}
	} else {
		s.noteGeneration(name, gen)
	}
	s.mu.Lock()
	s.rolledBack = rb
	s.mu.Unlock()
}

// RollbackError says which file is older than seen, and by how much.
type RollbackError struct {
	File             string
	Generation, Seen uint64
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("%s is older than one this computer has seen (generation %d, seen %d): HOTP counters may have been rewound, so HOTP codes are refused; if you put it back on purpose, accept it with 'latchkey store accept-rollback'", e.File, e.Generation, e.Seen)
}

// Is makes a RollbackError match ErrRolledBack.
func (e *RollbackError) Is(target error) bool { return target == ErrRolledBack }

// keyringGeneration reads the keyring's copy; 0 when there is none or
// the keyring does not answer (the file beside the store still counts).
func (s *Store) keyringGeneration() uint64 {
	v, err := s.kr.Get(Service, generationItem)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// checkKeyringGeneration compares the accounts.json last read with the
// keyring's copy of the highest generation seen. Only HOTP codes need it,
// so it is read then, not on every open.
func (s *Store) checkKeyringGeneration(ctx context.Context) error {
	if s.Backend() != Keyring {
		return nil
	}
	snap, err := s.current(ctx)
	if err != nil {
		return err
	}
	if seen := s.keyringGeneration(); snap.gen < seen {
		s.mu.Lock()
		if s.rolledBack == nil {
			s.rolledBack = &RollbackError{File: AccountsFile, Generation: snap.gen, Seen: seen}
		}
		s.mu.Unlock()
	}
	return nil
}

// Rollback returns a *RollbackError when the file last read is older than
// one seen before, else nil.
func (s *Store) Rollback() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rolledBack
}

// AcceptRollback takes the file as it is: the highest generation seen
// goes back to its own, and HOTP codes are shown again. For a file put
// back on purpose; its HOTP counters may repeat codes already used.
func (s *Store) AcceptRollback() error {
	s.mu.Lock()
	rb, _ := s.rolledBack.(*RollbackError)
	s.mu.Unlock()
	if rb == nil {
		return nil
	}
	err := s.withLock(context.Background(), func() error {
		if rb.File == AccountsFile && s.Backend() == Keyring {
			if err := s.kr.Set(Service, generationItem, strconv.FormatUint(rb.Generation, 10)); err != nil {
				return &keyringError{err}
			}
		}
		m := s.seen()
		m[rb.File] = rb.Generation
		data, _ := json.Marshal(m)
		return atomicfile.Write(s.path(GenerationFile), data, 0o600)
	})
	if err != nil {
		return fmt.Errorf("store: accept rollback: %w", err)
	}
	s.mu.Lock()
	if errors.Is(s.rolledBack, ErrRolledBack) {
		s.rolledBack = nil
	}
	s.mu.Unlock()
	return nil
}
