package server

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"latchkey/core/atomicfile"
	"latchkey/core/otp"
)

// KeySize is the master key length: AES-256.
const KeySize = 32

// Errors about the master key and sealed secrets.
var (
	ErrKey     = errors.New("master key must be 32 bytes, base64")
	ErrUnknown = errors.New("secret sealed under a key this server does not hold")
	ErrOpen    = errors.New("secret does not decrypt (wrong key, or moved to another row)")
)

// sealVersion is the first byte of every sealed secret.
const sealVersion = 1

// Keyring seals credential secrets with AES-256-GCM. A sealed secret is
//
//	version(1) | key id(4) | nonce(12) | ciphertext+tag
//
// with the user and the credential id as associated data, so a ciphertext
// copied to another row does not open. The key id (the first bytes of
// SHA-256 of the key) lets a server hold the old and the new key while a
// rotation is interrupted.
type Keyring struct {
	primary *sealKey
	all     []*sealKey
}

type sealKey struct {
	id   [4]byte
	aead cipher.AEAD
	raw  []byte
}

func newSealKey(key []byte) (*sealKey, error) {
	if len(key) != KeySize {
		return nil, ErrKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	sum := sha256.Sum256(key)
	k := &sealKey{aead: aead, raw: bytes.Clone(key)}
	copy(k.id[:], sum[:4])
	return k, nil
}

// NewKeyring seals with primary and opens with primary or any of older.
func NewKeyring(primary []byte, older ...[]byte) (*Keyring, error) {
	p, err := newSealKey(primary)
	if err != nil {
		return nil, err
	}
	kr := &Keyring{primary: p, all: []*sealKey{p}}
	for _, o := range older {
		k, err := newSealKey(o)
		if err != nil {
			return nil, err
		}
		kr.all = append(kr.all, k)
	}
	return kr, nil
}

func aad(user, id string) []byte {
	b := make([]byte, 0, len(user)+len(id)+1)
	b = append(b, user...)
	b = append(b, 0)
	return append(b, id...)
}

// Seal encrypts secret for credential id of user.
func (kr *Keyring) Seal(secret otp.Secret, user, id string) ([]byte, error) {
	k := kr.primary
	out := make([]byte, 5+k.aead.NonceSize(), 5+k.aead.NonceSize()+len(secret)+k.aead.Overhead())
	out[0] = sealVersion
	copy(out[1:5], k.id[:])
	if _, err := rand.Read(out[5:]); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return k.aead.Seal(out, out[5:], secret, aad(user, id)), nil
}

// Open decrypts a sealed secret of credential id of user.
func (kr *Keyring) Open(sealed []byte, user, id string) (otp.Secret, error) {
	if len(sealed) < 5+12+16 || sealed[0] != sealVersion {
		return nil, ErrOpen
	}
	for _, k := range kr.all {
		if !bytes.Equal(k.id[:], sealed[1:5]) {
			continue
		}
		n := k.aead.NonceSize()
		pt, err := k.aead.Open(nil, sealed[5:5+n], sealed[5+n:], aad(user, id))
		if err != nil {
			return nil, ErrOpen
		}
		return otp.Secret(pt), nil
	}
	return nil, ErrUnknown
}

// Reseal opens sealed with any key and seals it again with the primary.
func (kr *Keyring) Reseal(sealed []byte, user, id string) ([]byte, error) {
	s, err := kr.Open(sealed, user, id)
	if err != nil {
		return nil, err
	}
	defer s.Wipe()
	return kr.Seal(s, user, id)
}

// ParseKey decodes a base64 (standard or URL, padded or not) master key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, ErrKey
			}
			return b, nil
		}
	}
	return nil, ErrKey
}

// NewKey returns a random master key.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	return k, nil
}

// ReadKeyFile reads a base64 master key from path.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

// WriteKeyFile writes key to path, base64, mode 0600.
func WriteKeyFile(path string, key []byte) error {
	if err := atomicfile.Write(path, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}

// keys returns the raw keys for building a successor keyring.
func (kr *Keyring) keys() [][]byte {
	out := make([][]byte, 0, len(kr.all))
	for _, k := range kr.all {
		out = append(out, k.raw)
	}
	return out
}

// WriteKeyFileTo writes key as WriteKeyFile does, to w: base64 and a
// newline (for LATCHKEY_MASTER_KEY or a secrets manager).
func WriteKeyFileTo(w io.Writer, key []byte) error {
	_, err := io.WriteString(w, base64.StdEncoding.EncodeToString(key)+"\n")
	return err
}

// derive returns a 32-byte key for one purpose (label), derived from the
// primary master key with HMAC-SHA-256, so that no two uses share a key.
// It changes when the master key is rotated.
func (kr *Keyring) derive(label string) []byte {
	m := hmac.New(sha256.New, kr.primary.raw)
	m.Write([]byte("latchkey derive\x00" + label))
	return m.Sum(nil)
}
