package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

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

// agentFor returns a client of the unlocked agent of the vault in home.
// A locked agent is unlocked with the passphrase (LATCHKEY_PASSPHRASE or
// the terminal; without either, the one-line errNoPassphrase). With no
// agent running, start starts one (when this binary can) and unlocks it.
func agentFor(ctx context.Context, e *env, home string, start bool) (*agent.Client, error) {
	path, err := agent.SocketPath(home, e.getenv)
	if err != nil {
		return nil, err
	}
	c, err := agent.Dial(ctx, path)
	if err != nil {
		if !start || e.agentExe == nil {
			return nil, errNoAgentHere
		}
		pass, err := passphrase(e, false)
		if err != nil {
			return nil, err
		}
		defer clear(pass)
		if c, err = launchAgent(ctx, e, home, path); err != nil {
			fmt.Fprintf(e.stderr, "latchkey: warning: could not start the agent (%v); opening the vault without it\n", err)
			return nil, errNoAgentHere
		}
		if err := c.Unlock(ctx, pass); err != nil {
			c.Close()
			return nil, storeError(err)
		}
		return c, nil
	}
	// An agent that does not answer at once (stopped, wedged) is passed
	// by: the command opens the vault itself rather than hang.
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	st, err := c.Status(pctx)
	cancel()
	if errors.Is(err, agent.ErrRefused) {
		c.Close()
		return nil, err
	}
	if err != nil {
		c.Close()
		fmt.Fprintf(e.stderr, "latchkey: warning: the agent does not answer (%v); opening the vault without it\n", err)
		return nil, errNoAgentHere
	}
	if st.Locked {
		pass, err := passphrase(e, false)
		if err != nil {
			c.Close()
			return nil, err
		}
		err = c.Unlock(ctx, pass)
		clear(pass)
		if err != nil {
			c.Close()
			return nil, storeError(err)
		}
	}
	return c, nil
}

// launchAgent starts `latchkey agent` for home in its own session, its
// log beside its socket, and waits until it answers.
func launchAgent(ctx context.Context, e *env, home, path string) (*agent.Client, error) {
	exe, err := e.agentExe()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LATCHKEY_PASSPHRASE", "LATCHKEY_HOME", "XDG_RUNTIME_DIR":
			continue // the agent is unlocked over its socket, never from its environment
		}
		env = append(env, kv)
	}
	env = append(env, "LATCHKEY_HOME="+abs)
	if d := e.getenv("XDG_RUNTIME_DIR"); d != "" {
		env = append(env, "XDG_RUNTIME_DIR="+d)
	}
	log := strings.TrimSuffix(path, ".sock") + ".log"
	if err := startDetached(exe, []string{"agent", "--log", log}, env); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := agent.Dial(ctx, path)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no answer after 10 s; see %s", log)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
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
	ln, release, err := agent.Listen(path)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer release()
	var w io.Writer = e.stderr
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			ln.Close()
			return fmt.Errorf("agent: %w", err)
		}
		defer f.Close()
		w = f
	}
	srv := agent.New(agent.Options{Home: home, Timeout: *timeout, Logger: slog.New(slog.NewTextHandler(w, nil))})
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
