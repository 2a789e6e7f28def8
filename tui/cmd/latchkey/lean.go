//go:build lean

// No goroutine watching for a change of the container's CPU limit: the
// runtime starts one (and a thread for it) before main, which cost
// `latchkey version` 0.3 ms of 2.2 in interleaved runs; nothing here runs
// long enough to need it. Setting GOMAXPROCS in an init, which the runtime
// takes as the same "custom" signal, costs more than it saves (it stops
// the world), now that a keyring read needs no goroutine of its own.
//go:debug updatemaxprocs=0

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// fullName is the companion binary that runs, for the lean build, the
// commands that build leaves out (see delegated.go).
const fullName = "latchkey-full"

func runTUI(ctx context.Context, e *env, args []string) error {
	return delegate(ctx, e, "tui", args)
}

func runImport(ctx context.Context, e *env, args []string) error {
	return delegate(ctx, e, "import", args)
}

func runExport(ctx context.Context, e *env, args []string) error {
	return delegate(ctx, e, "export", args)
}

func runQR(ctx context.Context, e *env, args []string) error {
	return delegate(ctx, e, "qr", args)
}

func runEnroll(ctx context.Context, e *env, args []string) error {
	return delegate(ctx, e, "enroll", args)
}

func runServe(ctx context.Context, e *env, args []string) error {
	return delegate(ctx, e, "serve", args)
}

// handsOverFirst tells the commands latchkey-full runs from the start:
// they write to the keyring, which the lean build leaves to go-keyring in
// latchkey-full (add; rm, which asks first; store migrate). The others
// hand over only if they meet ErrNeedsFull (see dispatch).
func handsOverFirst(name string) bool {
	switch name {
	case "add", "rm", "store":
		return true
	}
	return false
}

func handOver(ctx context.Context, e *env, name string, args []string) error {
	return delegate(ctx, e, name, args)
}

// delegate replaces this process with latchkey-full running the same
// command, so that the terminal, signals, standard streams and the exit
// status are its own. Where a process cannot be replaced (Windows), it
// runs latchkey-full as a child and passes its exit status on.
func delegate(ctx context.Context, e *env, name string, args []string) error {
	path, err := fullPath()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	argv := append([]string{"latchkey", name}, args...)
	// Exec returns only where a process cannot be replaced (Windows) or
	// the exec failed; then run it as a child, which says why if it fails.
	_ = syscall.Exec(path, argv, os.Environ())
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
	if err = cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return exitWith(ee.ExitCode(), errors.New("")) // it said why itself
		}
		return fmt.Errorf("%s: run %s: %w", name, fullName, err)
	}
	return nil
}

// fullPath finds latchkey-full beside this executable (symbolic links
// resolved), where `make build` and packages put it, or else on PATH.
func fullPath() (string, error) {
	if self, err := os.Executable(); err == nil {
		if self, err = filepath.EvalSymlinks(self); err == nil {
			p := filepath.Join(filepath.Dir(self), fullName)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(fullName); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("this command runs in %s, which is neither beside this latchkey nor on PATH; install the two together (make build puts both in bin/)", fullName)
}
