// Latchkey is a terminal authenticator: it keeps TOTP (RFC 6238) and HOTP
// (RFC 4226) accounts and shows their codes, in a full-screen terminal UI
// or through subcommands meant for scripts.
//
// Usage:
//
//	latchkey <command> [flags] [arguments]
//
// Commands:
//
//	(none)                       on a terminal, the full-screen UI (also
//	                             `latchkey tui [--store S] [--log FILE]`)
//	add URI | --secret B32 --name N [--issuer I] [--algorithm A] [--digits D]
//	    [--period P] [--hotp --counter C] [--force]
//	                             store an account ("-" for URI or B32 reads
//	                             standard input, off the process list)
//	list [--json]                accounts with their codes and seconds left
//	code QUERY [--copy]          the code of the one matching account (exit 1
//	                             if none, 2 if several); --copy puts it on the
//	                             clipboard and clears it after 30 s if unchanged
//	                             (OSC 52 over SSH, not cleared)
//	code --uri URI [--at TIME]   the code for an otpauth URI at TIME (unix
//	                             seconds or RFC 3339; default now)
//	rm QUERY [--yes]             remove an account (asks on a terminal)
//	rename QUERY NEW             rename an account (NEW is name or issuer:name)
//	store [info]                 the store in use, its folder and its size
//	store migrate --to keyring|file
//	                             move every account to the other store
//	import FILE...|- [--format F] [--dry-run]
//	                             bring accounts in: otpauth URI lists, Google
//	                             Authenticator exports (text or QR image),
//	                             QR images, Aegis and 2FAS (plain or
//	                             encrypted), Latchkey backups; all or nothing
//	export --format uris|migration|aegis|backup [-o FILE] [--qr DIR] [--yes]
//	                             move accounts out (plain text asks first and
//	                             is written 0600; backup is age-encrypted)
//	qr QUERY [-o FILE.png] [--yes]
//	                             an account as a QR code, for a phone
//	enroll LINK                  redeem a one-time enrollment link from a
//	                             Latchkey server: store and confirm the account
//	serve [--addr A] [--db PATH|postgres://...] [--key-file F] [--config F]
//	                             the enrollment and verification server
//	serve rotate-key             re-encrypt every stored secret under a new key
//	version                      the version of this program
//	help [COMMAND]               help for a command
//
// Every command takes -h or --help. Errors go to standard error with a
// non-zero exit status, and nothing partial is written to standard output.
//
// An example session:
//
//	$ latchkey code --uri 'otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP' --at 2026-01-01T00:00:00Z
//	260025
//
// Stored accounts live in one of two stores, chosen with --store
// keyring|file or LATCHKEY_STORE and remembered after first use: the OS
// keyring (the default where one answers), or an age-encrypted vault whose
// passphrase comes from a prompt or LATCHKEY_PASSPHRASE. LATCHKEY_HOME
// replaces the folder of accounts.json, the vault and the config (default:
// the user config dir's "latchkey").
//
// Secrets are never written to plain files: stored accounts keep theirs
// in the OS keyring or in an age-encrypted vault. A secret passed on the
// command line is visible to other users of the machine through the
// process list; prefer a file or standard input where a command offers it.
//
// This package builds twice. `make build` installs its lean build
// (-tags lean) as latchkey: add, list, code, rm, rename, store and version
// run in it, without the code of the terminal UI, the transfer formats,
// HTTP and the server, so that `latchkey code` starts in about half the
// time. For tui, import, export, qr, enroll and serve it replaces itself
// with latchkey-full, the default build (every command in-process), found
// beside it or else on PATH.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"latchkey/core/store"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	os.Exit(report(err, os.Stderr))
}

// env is what a command may touch of the outside world; tests build their
// own.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
}

// command is one subcommand of latchkey.
type command struct {
	name    string
	usage   string // the synopsis after "latchkey NAME"
	summary string // one line for the command list
	run     func(ctx context.Context, e *env, args []string) error
	hidden  bool // left out of the command list (internal helpers)
	// graceful commands see SIGINT and SIGTERM as ctx being done, to stop
	// cleanly (the server drains, the UI restores the terminal). The
	// others, quick and safe to end at any point, leave both signals
	// alone: catching them costs a thread and a tenth of a millisecond at
	// every start, which `latchkey code` would pay.
	graceful bool
}

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		tuiCommand(),
		addCommand(),
		listCommand(),
		codeCommand(),
		rmCommand(),
		renameCommand(),
		importCommand(),
		exportCommand(),
		qrCommand(),
		storeCommand(),
		clipboardClearCommand(),
		enrollCommand(),
		serveCommand(),
		versionCommand(),
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}
	return dispatch(ctx, e, args)
}

func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 && !interactive(e) {
		printUsage(e.stdout) // not on a terminal: scripts get the usage
		return nil
	}
	if len(args) == 0 || tuiFlag(args[0]) {
		return runGraceful(ctx, e, tuiCommand().run, args)
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 {
			if c, ok := lookup(args[1]); ok {
				return c.run(ctx, e, []string{"--help"})
			}
			return usageErrorf("unknown command %q; run 'latchkey help' for the list", args[1])
		}
		printUsage(e.stdout)
		return nil
	case "-version", "--version":
		name = "version"
	}
	c, ok := lookup(name)
	if !ok {
		return usageErrorf("unknown command %q; run 'latchkey help' for the list", name)
	}
	if handsOverFirst(name) {
		return handOver(ctx, e, name, args[1:])
	}
	var err error
	if c.graceful {
		err = runGraceful(ctx, e, c.run, args[1:])
	} else {
		err = c.run(ctx, e, args[1:])
	}
	if errors.Is(err, store.ErrNeedsFull) {
		// The lean build met what it leaves out (the vault, a keyring
		// read its fast path could not answer) before it changed or
		// printed anything: latchkey-full runs the command instead.
		return handOver(ctx, e, name, args[1:])
	}
	return err
}

// runGraceful runs a graceful command with ctx done on SIGINT or SIGTERM.
func runGraceful(ctx context.Context, e *env, run func(context.Context, *env, []string) error, args []string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, e, args)
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Latchkey keeps TOTP and HOTP accounts and shows their codes.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage:")
	fmt.Fprintln(w, "  latchkey <command> [flags] [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	var cs []command
	for _, c := range commands() {
		if !c.hidden {
			cs = append(cs, c)
		}
	}
	width := 0
	for _, c := range cs {
		width = max(width, len(c.name))
	}
	for _, c := range cs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'latchkey help COMMAND' or 'latchkey COMMAND --help' for a command's flags.")
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf reports a mistake in how the command was called (exit 2).
func usageErrorf(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// exitWith wraps err with an exit status.
func exitWith(code int, err error) error { return &exitError{code: code, err: err} }

// report prints err (if any) and returns the process exit status.
func report(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	code := 1
	if errors.As(err, &ee) {
		code = ee.code
	}
	msg := strings.TrimSpace(err.Error())
	if msg != "" {
		fmt.Fprintln(stderr, "latchkey: "+msg)
	}
	return code
}
