package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// CreateClient registers an application and returns its id and secret.
// The secret is returned only here; the store keeps its SHA-256.
func (s *Server) CreateClient(ctx context.Context, name string) (id, secret string, err error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", "", fmt.Errorf("%w: name is required", ErrInvalidInput)
	}
	if err := checkName(name); err != nil {
		return "", "", err
	}
	id = "lk_" + randomID(12)
	secret = randomToken(32)
	sum := sha256.Sum256([]byte(secret))
	if err := s.store.CreateClient(ctx, Client{ID: id, Name: name, SecretHash: sum[:], Created: s.now()}); err != nil {
		return "", "", err
	}
	s.audit.add(Event{Time: s.now(), Action: "client_create", Client: id, Outcome: "ok"})
	return id, secret, nil
}

// dummyHash is compared against when a client id is unknown, so that an
// unknown id and a wrong secret take the same time.
var dummyHash = sha256.Sum256([]byte("latchkey: no such client"))

// authenticateClient checks client credentials in constant time.
func (s *Server) authenticateClient(ctx context.Context, id, secret string) (bool, error) {
	s.mu.RLock()
	c, ok := s.clients[id]
	s.mu.RUnlock()
	if !ok {
		var err error
		c, err = s.store.Client(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			c.SecretHash = dummyHash[:]
		case err != nil:
			return false, err
		default:
			ok = true
			s.mu.Lock()
			s.clients[id] = c
			s.mu.Unlock()
		}
	}
	sum := sha256.Sum256([]byte(secret))
	match := subtle.ConstantTimeCompare(sum[:], c.SecretHash) == 1
	return ok && match, nil
}
