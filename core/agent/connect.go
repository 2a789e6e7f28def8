package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ConnectOptions say how Connect reaches the agent of one vault.
type ConnectOptions struct {
	// Home is the store's folder (the one holding vault.age).
	Home string
	// Getenv reads the environment (XDG_RUNTIME_DIR for the socket).
	Getenv func(string) string
	// Passphrase unlocks a locked agent, or one just started. Its error
	// ends Connect as it is (a UI's "ask me first", a script's "no
	// terminal"). The bytes stay the caller's: Connect does not wipe
	// them, since the caller may open the vault itself with them after.
	Passphrase func() ([]byte, error)
	// Exe names the latchkey binary that runs `latchkey agent` when none
	// answers; nil, or its error (no such binary here), starts none.
	Exe func() (string, error)
	// Warn hears why an agent was passed by (it could not be started, or
	// does not answer); nil tells no one.
	Warn func(msg string)
}

// Connect returns a client of the unlocked agent for the vault in
// o.Home: the one running (unlocked with o.Passphrase if it is locked),
// else one started now from o.Exe and unlocked. It is ErrNoAgent when no
// agent answers and none was started, or one is there but does not
// answer at once: the caller then opens the vault itself. A wrong
// passphrase is core/store's ErrBadPassphrase; another user's agent is
// ErrRefused.
func Connect(ctx context.Context, o ConnectOptions) (*Client, error) {
	warn := func(format string, args ...any) {
		if o.Warn != nil {
			o.Warn(fmt.Sprintf(format, args...))
		}
	}
	path, err := SocketPath(o.Home, o.Getenv)
	if err != nil {
		return nil, err
	}
	c, err := Dial(ctx, path)
	if err != nil {
		if o.Exe == nil {
			return nil, ErrNoAgent
		}
		exe, err := o.Exe()
		if err != nil {
			return nil, ErrNoAgent // no latchkey binary here to start one: nothing to warn about
		}
		pass, err := o.Passphrase()
		if err != nil {
			return nil, err
		}
		if c, err = Start(ctx, exe, o.Home, path, o.Getenv); err != nil {
			warn("could not start the agent (%v); opening the vault without it", err)
			return nil, ErrNoAgent
		}
		if err := c.Unlock(ctx, pass); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	// An agent that does not answer at once (stopped, wedged) is passed
	// by: the caller opens the vault itself rather than hang.
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	st, err := c.Status(pctx)
	cancel()
	if errors.Is(err, ErrRefused) {
		c.Close()
		return nil, err
	}
	if err != nil {
		c.Close()
		warn("the agent does not answer (%v); opening the vault without it", err)
		return nil, ErrNoAgent
	}
	if st.Locked {
		pass, err := o.Passphrase()
		if err != nil {
			c.Close()
			return nil, err
		}
		if err := c.Unlock(ctx, pass); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Start starts `exe agent` for the vault in home, listening at path, in
// a session of its own with its log beside its socket, and waits until
// it answers (10 s at most). The agent's environment is this process's
// without LATCHKEY_PASSPHRASE: it is unlocked over its socket, never from
// its environment.
func Start(ctx context.Context, exe, home, path string, getenv func(string) string) (*Client, error) {
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LATCHKEY_PASSPHRASE", "LATCHKEY_HOME", "XDG_RUNTIME_DIR":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "LATCHKEY_HOME="+abs)
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		env = append(env, "XDG_RUNTIME_DIR="+d)
	}
	log := strings.TrimSuffix(path, ".sock") + ".log"
	ended, release, err := startDetached(exe, []string{"agent", "--log", log}, env)
	if err != nil {
		return nil, err
	}
	defer release()
	deadline := time.Now().Add(10 * time.Second)
	why := "" // how the agent ended, once it did
	for {
		c, err := Dial(ctx, path)
		if err == nil {
			return c, nil
		}
		// One that could not listen (its folder not private, say) is
		// not waited for long: only for an agent started at the same
		// moment by another command, which has the socket if this one
		// ended for that.
		if why == "" {
			if how, ok := ended(); ok {
				why = how
				if soon := time.Now().Add(time.Second); soon.Before(deadline) {
					deadline = soon
				}
			}
		}
		if time.Now().After(deadline) {
			if why != "" {
				return nil, fmt.Errorf("it ended at once (%s); see %s", why, log)
			}
			return nil, fmt.Errorf("no answer after 10 s; see %s", log)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Exe finds the latchkey binary for another program of Latchkey's (the
// desktop app): "latchkey" beside the running executable, else on PATH.
func Exe() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "latchkey")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 && p != self {
			return p, nil
		}
	}
	return exec.LookPath("latchkey")
}
