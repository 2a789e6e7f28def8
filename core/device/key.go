package device

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
)

// ErrBadKey is a stored device key that is not an Ed25519 seed.
var ErrBadKey = errors.New("the device key is damaged")

// NewKey makes a device key from crypto/rand and returns its seed (what
// the store keeps, ed25519.SeedSize bytes) and its public key.
func NewKey() (seed []byte, pub ed25519.PublicKey) {
	seed = make([]byte, ed25519.SeedSize)
	rand.Read(seed) // never fails
	return seed, ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}

// Key returns the private key of a stored seed.
func Key(seed []byte) (ed25519.PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, ErrBadKey
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
