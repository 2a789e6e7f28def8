package server

import (
	"context"
	"testing"
)

// TestVerifyCredentialsChangedElsewhere: an instance that serves a
// user's credentials from memory sees another instance's enrollment and
// deletion at the next verification (PostgreSQL, two instances).
func TestVerifyCredentialsChangedElsewhere(t *testing.T) {
	dsn := newPostgresDB(t)
	open := func() Store {
		st, err := OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := newTestServer(t, open())
	b := newTestServer(t, open(), func(c *Config) { c.Now = a.clock.Now })
	b.clock = a.clock

	first := a.enrollVerified("erin")
	a.clock.Add(30e9)
	if r := a.verify("erin", first.gen.At(a.clock.Now())); r.json(t)["valid"] != true {
		t.Fatalf("first credential on a: %s", r.body)
	}
	// b enrolls a second credential and deletes the first; a's memory
	// still holds the first alone.
	second := b.enrollVerified("erin")
	if err := b.DeleteCredential(context.Background(), "erin", first.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	a.clock.Add(30e9)
	if r := a.verify("erin", second.gen.At(a.clock.Now())); r.json(t)["valid"] != true {
		t.Fatalf("second credential on a: %s", r.body)
	}
	a.clock.Add(30e9)
	if r := a.verify("erin", first.gen.At(a.clock.Now())); r.json(t)["valid"] == true {
		t.Fatalf("deleted credential accepted on a: %s", r.body)
	}
}
