package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPairing: the device key lives in the keyring or the vault, never in
// the metadata file; it survives a reopen and goes with Unpair and Delete.
func TestPairing(t *testing.T) {
	forBoth(t, func(t *testing.T, o Options, kr *memKeyring) {
		ctx := context.Background()
		s := open(t, o)
		a, err := s.Add(ctx, Account{Issuer: "Latchkey", Name: "alice"}, secret(t), false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeviceKey(ctx, a.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("device key before pairing: %v", err)
		}
		key := bytes.Repeat([]byte{0x5a}, 32)
		p := Pairing{Server: "https://auth.example", User: "alice", Credential: "c1", Device: "d1"}
		if err := s.SetPairing(ctx, a.ID, p, key); err != nil {
			t.Fatal(err)
		}
		s2 := open(t, o)
		got, err := s2.Get(ctx, a.ID)
		if err != nil || got.Pairing == nil || *got.Pairing != p {
			t.Fatalf("pairing after reopen: %+v %v", got.Pairing, err)
		}
		k, err := s2.DeviceKey(ctx, a.ID)
		if err != nil || !bytes.Equal(k, key) {
			t.Fatalf("device key after reopen: %x %v", k, err)
		}
		// Never in a plain file.
		files, _ := filepath.Glob(filepath.Join(o.Home, "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if bytes.Contains(b, key) || strings.Contains(string(b), "WlpaWlpa") {
				t.Errorf("%s holds the device key", filepath.Base(f))
			}
		}
		if o.Backend == Keyring && kr.len() != 2 {
			t.Errorf("%d keyring items, want the secret and the device key", kr.len())
		}
		if err := s2.Unpair(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.DeviceKey(ctx, a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("device key after unpair: %v", err)
		}
		if err := s2.SetPairing(ctx, a.ID, p, key); err != nil {
			t.Fatal(err)
		}
		if err := s2.Delete(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if kr.len() != 0 {
			t.Errorf("%d keyring items left after delete", kr.len())
		}
	})
}
