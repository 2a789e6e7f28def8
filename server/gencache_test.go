package server

import (
	"context"
	"testing"
	"time"

	"latchkey/core/otp"
)

// TestGenCache: a credential's generator is made once and reused; a
// secret sealed again, a deletion, and genIdle without use each make the
// next request build it anew.
func TestGenCache(t *testing.T) {
	builds := 0
	build := func(Credential) (*otp.Generator, error) {
		builds++
		return otp.NewGenerator([]byte("12345678901234567890"), otp.Options{})
	}
	gc := newGenCache()
	now := time.Unix(1_800_000_000, 0)
	c := Credential{ID: "c1", User: "alice", Secret: []byte("sealed-1")}
	get := func(c Credential, want int) *otp.Generator {
		t.Helper()
		g, err := gc.get(c, now, build)
		if err != nil || builds != want {
			t.Fatalf("builds %d, %v; want %d", builds, err, want)
		}
		return g
	}
	g1 := get(c, 1)
	if g2 := get(c, 1); g2 != g1 {
		t.Fatal("a second request built another generator")
	}
	c.Secret = []byte("sealed-2") // key rotation
	get(c, 2)
	get(c, 2)
	get(Credential{ID: "c1", User: "bob", Secret: c.Secret}, 3) // never another user's
	gc.drop("c1")
	get(c, 4)
	get(Credential{ID: "c2", User: "alice", Secret: []byte("x")}, 5)
	now = now.Add(genIdle / 2)
	get(c, 5)
	now = now.Add(genIdle / 2)
	get(c, 5) // c1 used within genIdle; c2 not, and dropped
	if gc.len() != 1 {
		t.Fatalf("%d cached, want c1 alone", gc.len())
	}
}

// TestGenCacheDelete: deleting a credential through the server drops its
// generator.
func TestGenCacheDelete(t *testing.T) {
	ts := newTestServer(t, openTestSQLite(t))
	e := ts.enrollVerified("alice")
	if r := ts.verify("alice", "000000"); r.status != 200 {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	if ts.gens.len() != 1 {
		t.Fatalf("%d generators cached after a verification, want 1", ts.gens.len())
	}
	if err := ts.DeleteCredential(context.Background(), "alice", e.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if ts.gens.len() != 0 {
		t.Fatal("the deleted credential's generator is still cached")
	}
}
