package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"latchkey/core/agent"
	"latchkey/core/harden"
	"latchkey/core/otp"
	"latchkey/core/store"
)

// accounts is what the account commands need of a store: *store.Store
// opened here, or an agent's client holding the vault unlocked.
type accounts interface {
	List(ctx context.Context) ([]store.Account, error)
	Find(ctx context.Context, query string) ([]store.Account, error)
	Get(ctx context.Context, id string) (store.Account, error)
	Secret(ctx context.Context, id string) (otp.Secret, error)
	Secrets(ctx context.Context) (map[string]otp.Secret, error)
	DeviceKey(ctx context.Context, id string) ([]byte, error)
	Generator(ctx context.Context, id string) (*otp.Generator, error)
	Add(ctx context.Context, a store.Account, secret otp.Secret, force bool) (store.Account, error)
	AddMany(ctx context.Context, items []store.NewAccount) ([]store.Account, error)
	NextHOTP(ctx context.Context, id string) (string, store.Account, error)
	Update(ctx context.Context, id string, fn func(*store.Account) error) (store.Account, error)
	Delete(ctx context.Context, id string) error
	SetPairing(ctx context.Context, id string, p store.Pairing, key []byte) error
	Close() error
}

var (
	_ accounts = (*store.Store)(nil)
	_ accounts = (*agent.Client)(nil)
)

// openAccounts opens the store as openStore does and, when it is the file
// store with a vault, hands the account commands the agent instead: the
// one running for this vault (unlocked with the passphrase if it is
// locked), else one started now and unlocked. LATCHKEY_AGENT=off, the
// keyring, or no vault yet: the store is opened here, as before agents.
func openAccounts(ctx context.Context, e *env, flagValue string) (accounts, error) {
	s, err := openStore(ctx, e, flagValue)
	if err != nil {
		return nil, err
	}
	if s.Backend() != store.File || agentOff(e) {
		return s, nil
	}
	if _, err := os.Stat(filepath.Join(s.Home(), store.VaultFile)); err != nil {
		return s, nil
	}
	c, err := agentFor(ctx, e, s.Home(), true)
	switch {
	case err == nil:
		s.Close()
		return c, nil
	case errors.Is(err, errNoAgentHere):
		return s, nil
	}
	s.Close()
	return nil, err
}

// errNoAgentHere: no agent answers and none was started; the command
// opens the vault itself.
var errNoAgentHere = errors.New("no agent")

func agentOff(e *env) bool { return strings.EqualFold(e.getenv("LATCHKEY_AGENT"), "off") }

// agentFor returns a client of the unlocked agent of the vault in home
// (core/agent.Connect). A locked agent is unlocked with the passphrase
// (LATCHKEY_PASSPHRASE or the terminal; without either, the one-line
// errNoPassphrase). With no agent running, start starts one (when this
// binary can) and unlocks it; errNoAgentHere when none answers.
func agentFor(ctx context.Context, e *env, home string, start bool) (*agent.Client, error) {
	var asked [][]byte
	defer func() {
		for _, p := range asked {
			clear(p)
		}
	}()
	o := agent.ConnectOptions{
		Home:   home,
		Getenv: e.getenv,
		Passphrase: func() ([]byte, error) {
			p, err := passphrase(e, false)
			asked = append(asked, p)
			return p, err
		},
		Warn: func(msg string) { fmt.Fprintln(e.stderr, "latchkey: warning: "+msg) },
	}
	if start {
		o.Exe = e.agentExe
	}
	c, err := agent.Connect(ctx, o)
	switch {
	case errors.Is(err, agent.ErrNoAgent):
		if n := len(asked); n > 0 && asked[n-1] != nil {
			// The command opens the vault itself: with this passphrase,
			// not a second prompt.
			e.typed = bytes.Clone(asked[n-1])
		}
		return nil, errNoAgentHere
	case errors.Is(err, agent.ErrRefused), errors.Is(err, errNoPassphrase):
		return nil, err
	case err != nil:
		return nil, storeError(err)
	}
	return c, nil
}

func agentCommand() command {
	return command{
		name:     "agent",
		graceful: true,
		usage:    "[--timeout 15m] [--log FILE]",
		summary:  "keep the file store's vault unlocked for the other commands, until idle for the timeout or 'latchkey lock' (the commands start it on demand; LATCHKEY_AGENT=off opens the vault without it)",
		run:      runAgent,
	}
}

func runAgent(ctx context.Context, e *env, args []string) error {
	fs := newFlags(agentCommand(), e)
	timeout := fs.Duration("timeout", agent.DefaultTimeout, "lock after this long without a request")
	logPath := fs.String("log", "", "append the agent's log to `FILE` (no secrets, codes or passphrases) instead of standard error")
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) > 0 {
		return usageErrorf("agent: takes no arguments")
	}
	if *timeout <= 0 {
		return usageErrorf("agent: --timeout must be positive")
	}
	if err := harden.NoCoreDumps(); err != nil {
		fmt.Fprintln(e.stderr, "latchkey: warning: "+err.Error())
	}
	home, err := store.DefaultHome(e.getenv)
	if err != nil {
		return err
	}
	if _, err := os.Stat(home); err != nil {
		return fmt.Errorf("agent: no store folder %s", home)
	}
	path, err := agent.SocketPath(home, e.getenv)
	if err != nil {
		return err
	}
	ln, release, err := agent.Listen(path) // makes the folder the log goes in
	var w io.Writer = e.stderr
	if *logPath != "" {
		f, ferr := os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if ferr != nil {
			if err == nil {
				ln.Close()
				release()
				err = ferr
			}
			return fmt.Errorf("agent: %w", err)
		}
		defer f.Close()
		w = f
	}
	log := slog.New(slog.NewTextHandler(w, nil))
	if err != nil {
		// The command that started this agent points to its log.
		log.Error("agent not started", "err", err)
		return fmt.Errorf("agent: %w", err)
	}
	defer release()
	srv := agent.New(agent.Options{Home: home, Timeout: *timeout, Logger: log})
	return srv.Serve(ctx, ln)
}

func lockCommand() command {
	return command{
		name:    "lock",
		usage:   "",
		summary: "make the agent forget the vault's secrets and passphrase (the next command asks for it again)",
		run:     runLock,
	}
}

func runLock(ctx context.Context, e *env, args []string) error {
	fs := newFlags(lockCommand(), e)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) > 0 {
		return usageErrorf("lock: takes no arguments")
	}
	home, err := store.DefaultHome(e.getenv)
	if err != nil {
		return err
	}
	path, err := agent.SocketPath(home, e.getenv)
	if err != nil {
		return err
	}
	c, err := agent.Dial(ctx, path)
	if err != nil {
		fmt.Fprintln(e.stdout, "no agent is running for this vault")
		return nil
	}
	defer c.Close()
	if err := c.Lock(ctx); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	fmt.Fprintln(e.stdout, "locked")
	return nil
}

func unlockCommand() command {
	return command{
		name:    "unlock",
		usage:   "",
		summary: "unlock the file store's vault in the agent ahead of time, starting the agent if none runs",
		run:     runUnlock,
	}
}

func runUnlock(ctx context.Context, e *env, args []string) error {
	fs := newFlags(unlockCommand(), e)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) > 0 {
		return usageErrorf("unlock: takes no arguments")
	}
	if agentOff(e) {
		return usageErrorf("unlock: LATCHKEY_AGENT=off: there is no agent to unlock")
	}
	home, err := store.DefaultHome(e.getenv)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(home, store.VaultFile)); err != nil {
		return exitWith(1, errors.New("unlock: there is no vault (the agent serves the file store; 'latchkey add --store file' makes one)"))
	}
	c, err := agentFor(ctx, e, home, true)
	if errors.Is(err, errNoAgentHere) {
		return exitWith(1, errors.New("unlock: no agent could be started"))
	}
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := c.Status(ctx)
	if err != nil {
		return fmt.Errorf("unlock: %w", err)
	}
	fmt.Fprintf(e.stdout, "unlocked (agent pid %d)\n", st.PID)
	return nil
}
