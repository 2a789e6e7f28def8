// Package agenttest runs a real agent (core/agent's server, in the test's
// process) for the tests of the faces that use one, as net/http/httptest
// runs a real server. Only tests import it.
package agenttest

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"latchkey/core/agent"
	"latchkey/core/otp"
	"latchkey/core/store"
)

// Vault makes a file store with the passphrase pass holding one account,
// Example:alice, and runs a locked agent for it until the test ends. It
// returns what reaches that agent (its Home is the store's folder).
func Vault(t testing.TB, pass string) agent.ConnectOptions {
	t.Helper()
	o := Home(t, pass)
	path, err := agent.SocketPath(o.Home, o.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	ln, release, err := agent.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := agent.New(agent.Options{Home: o.Home, Timeout: time.Hour, WorkFactor: 2, Logger: slog.New(slog.DiscardHandler)})
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		release()
	})
	return o
}

// Home makes the file store of Vault, with no agent running for it: the
// options reach where its agent would listen (a runtime folder of the
// test's own).
func Home(t testing.TB, pass string) agent.ConnectOptions {
	t.Helper()
	ctx := context.Background()
	dir := func() string {
		d, err := os.MkdirTemp("", "lk") // a socket's path must be short
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	home, run := dir(), dir()
	s, err := store.Open(ctx, store.Options{Home: home, Backend: store.File, WorkFactor: 2,
		Passphrase: func() ([]byte, error) { return []byte(pass), nil }})
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := otp.NewSecret(otp.SHA1)
	if _, err := s.Add(ctx, store.Account{Issuer: "Example", Name: "alice"}, sec, false); err != nil {
		t.Fatal(err)
	}
	s.Close()
	getenv := func(k string) string {
		if k == "XDG_RUNTIME_DIR" {
			return run
		}
		return ""
	}
	return agent.ConnectOptions{Home: home, Getenv: getenv}
}
