package store

import (
	"bytes"
	"context"
	"testing"
)

// slab is a test's Options.Memory: bytes handed out from one buffer, so
// that the test can see what the store keeps there.
type slab struct {
	buf  []byte
	used int
}

func (m *slab) alloc(n int) []byte {
	if m.used+n > len(m.buf) {
		return nil
	}
	b := m.buf[m.used : m.used+n : m.used+n]
	m.used += n
	return b
}

// TestMemoryHoldsSecrets: with Options.Memory the file store keeps the
// secrets and device keys it decrypted, and those it was given, in that
// memory (the agent's locked pages); callers get copies; Close wipes it
// all. A full Memory falls back to the heap and nothing breaks.
func TestMemoryHoldsSecrets(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	sec, key := secret(t), []byte("0123456789abcdef0123456789abcdef")
	w := open(t, opts(home, File, nil))
	a, err := w.Add(ctx, Account{Issuer: "Example", Name: "alice"}, sec, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetPairing(ctx, a.ID, Pairing{Server: "https://example.com", Device: "d1"}, key); err != nil {
		t.Fatal(err)
	}
	w.Close()

	m := &slab{buf: make([]byte, 1<<20)}
	o := opts(home, File, nil)
	o.Memory = m.alloc
	s := open(t, o)
	got, err := s.Secret(ctx, a.ID)
	if err != nil || !bytes.Equal(got, sec) {
		t.Fatalf("Secret = %x, %v", got, err)
	}
	if !bytes.Contains(m.buf, sec) || !bytes.Contains(m.buf, key) {
		t.Fatal("the decrypted secret or device key is not in Memory")
	}
	sec2 := secret(t)
	if _, err := s.Add(ctx, Account{Issuer: "Example", Name: "bob"}, sec2, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(m.buf, sec2) {
		t.Fatal("an added secret is not kept in Memory")
	}
	got.Wipe() // the caller's copy is its own
	if again, _ := s.Secret(ctx, a.ID); !bytes.Equal(again, sec) {
		t.Fatal("wiping the caller's copy changed the store's")
	}
	s.Close()
	if m.used == 0 || !bytes.Equal(m.buf, make([]byte, len(m.buf))) {
		t.Fatalf("Memory not wiped by Close (%d bytes used)", m.used)
	}

	// No room: the heap, as without Memory.
	o.Memory = (&slab{}).alloc
	s = open(t, o)
	if got, err := s.Secret(ctx, a.ID); err != nil || !bytes.Equal(got, sec) {
		t.Fatalf("Secret with a full Memory = %x, %v", got, err)
	}
}
