package oidc

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memStore is an in-memory Store for unit tests; it counts client reads.
type memStore struct {
	mu      sync.Mutex
	clients map[string]Client
	keys    []SigningKey
	jtis    map[string]bool
	reads   atomic.Int64
}

func newMemStore() *memStore { return &memStore{clients: map[string]Client{}, jtis: map[string]bool{}} }

func (m *memStore) CreateClient(_ context.Context, c Client) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clients[c.ID] = c
	return nil
}
func (m *memStore) Client(_ context.Context, id string) (Client, error) {
	m.reads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clients[id]
	if !ok {
		return Client{}, ErrNotFound
	}
	return c, nil
}
func (m *memStore) Clients(context.Context) ([]Client, error) { return nil, nil }
func (m *memStore) UpdateClient(_ context.Context, c Client) error {
	return m.CreateClient(context.Background(), c)
}
func (m *memStore) DeleteClient(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.clients, id)
	return nil
}
func (m *memStore) SigningKeys(context.Context) ([]SigningKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]SigningKey(nil), m.keys...), nil
}
func (m *memStore) AddSigningKey(_ context.Context, k SigningKey, retire time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.keys {
		if m.keys[i].Retires.IsZero() {
			if retire.IsZero() {
				return false, nil
			}
			m.keys[i].Retires = retire
		}
	}
	m.keys = append(m.keys, k)
	return true, nil
}
func (m *memStore) ResealSigningKeys(context.Context, func(string, []byte) ([]byte, error)) (int, error) {
	return 0, nil
}
func (m *memStore) UseJTI(_ context.Context, client, jti string, _, _ time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := client + "\x00" + jti
	if m.jtis[k] {
		return false, nil
	}
	m.jtis[k] = true
	return true, nil
}

type plainSealer struct{}

func (plainSealer) Seal(pt []byte, _ string) ([]byte, error) { return append([]byte(nil), pt...), nil }
func (plainSealer) Open(sealed []byte, _ string) ([]byte, error) {
	return append([]byte(nil), sealed...), nil
}

// TestAuthenticateSameWork: a known client id with a wrong secret and an
// unknown id cost the same database reads and the same hash computations,
// the first time and while cached; and a cached answer expires.
func TestAuthenticateSameWork(t *testing.T) {
	st := newMemStore()
	now := time.Unix(1_800_000_000, 0)
	p, err := New(Config{Store: st, Sealer: plainSealer{}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	var hashes atomic.Int64
	p.hash = func(b []byte) [32]byte { hashes.Add(1); return sha256Sum(b) }
	name := "app"
	c, secret, err := p.CreateClient(context.Background(), ClientMetadata{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	work := func(id, secret string) (reads, hashed int64, ok bool) {
		r0, h0 := st.reads.Load(), hashes.Load()
		_, ok, err := p.AuthenticateSecret(context.Background(), id, secret)
		if err != nil {
			t.Fatal(err)
		}
		return st.reads.Load() - r0, hashes.Load() - h0, ok
	}
	for round := range 3 {
		kr, kh, kok := work(c.ID, "wrong")
		ur, uh, uok := work("lk_unknown", "wrong")
		if kok || uok {
			t.Fatal("a wrong secret was accepted")
		}
		if kr != ur || kh != uh || kh != 1 {
			t.Errorf("round %d: known id: %d reads %d hashes; unknown id: %d reads %d hashes", round, kr, kh, ur, uh)
		}
		wantReads := int64(0)
		if round != 1 { // round 0: cold; round 2: after the TTL
			wantReads = 1
		}
		if kr != wantReads {
			t.Errorf("round %d: %d reads, want %d", round, kr, wantReads)
		}
		if round == 1 {
			now = now.Add(ClientCacheTTL)
		}
	}
	if _, _, ok := work(c.ID, secret); !ok {
		t.Error("the right secret was refused")
	}
}

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{"grant_type=client_credentials", "a=1&a=2", "a=%zz", "=x", "a&b=&c=%20", "x=1;y=2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseForm([]byte(s))
		if err != nil {
			return
		}
		// Round trip: what parsed re-encodes to the same values, each once.
		again, err := ParseForm([]byte(v.Encode()))
		if err != nil || again.Encode() != v.Encode() {
			t.Fatalf("round trip of %q: %v %v", s, again, err)
		}
		for k, vs := range v {
			if k == "" || len(vs) != 1 {
				t.Fatalf("%q: parameter %q with %d values", s, k, len(vs))
			}
		}
	})
}

func FuzzParseAssertion(f *testing.F) {
	// A none-signed token, a malformed one, an HS256 one (refused).
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJhIiwic3ViIjoiYSJ9.")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJhIiwic3ViIjoiYSJ9.c2ln")
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOiJhIiwic3ViIjoiYSJ9.c2ln")
	f.Fuzz(func(t *testing.T, s string) {
		tok, client, _, err := ParseAssertion(s)
		if err != nil {
			return
		}
		alg := tok.Headers[0].Algorithm
		if alg != "RS256" && alg != "PS256" && alg != "ES256" && alg != "EdDSA" {
			t.Fatalf("algorithm %q accepted", alg)
		}
		if client == "" {
			t.Fatal("empty client id accepted")
		}
		_ = url.QueryEscape(strings.ToLower(client))
	})
}
