// Latchkey is a terminal authenticator: it keeps TOTP (RFC 6238) and HOTP
// (RFC 4226) accounts and shows their codes, in a full-screen terminal UI
// or through subcommands meant for scripts.
//
// Usage:
//
//	latchkey <command> [flags] [arguments]
//	latchkey --store keyring|file <command> [flags] [arguments]
//
// Commands:
//
//	latchkey tui [--store keyring|file] [--log FILE]
//	      the terminal UI (what latchkey runs with no arguments on a terminal)
//	latchkey add URI | - | --secret B32 --name N [--issuer I] [--algorithm A]
//	    [--digits D] [--period P] [--hotp --counter C] [--force] [--store STORE]
//	      store an account from an otpauth URI or its parts (- reads standard
//	      input, off the process list)
//	latchkey list [--json] [--store STORE]
//	      list the accounts with their current codes
//	latchkey code QUERY [--copy] [--store STORE] | --uri URI [--at TIME]
//	      print the code of the one matching account (exit 1 if none, 2 if
//	      several; --copy clears the clipboard after 30 s), or of an otpauth URI
//	      at TIME (unix seconds or RFC 3339)
//	latchkey rm QUERY [--yes] [--store STORE]
//	      remove an account and its secret (asks on a terminal; --yes for
//	      scripts)
//	latchkey rename QUERY NEW [--store STORE]
//	      rename an account (NEW is a name, or issuer:name)
//	latchkey import [--format FORMAT] [--dry-run] [--store STORE] FILE... | -
//	      add accounts from other apps (otpauth URI lists, QR images, Google
//	      Authenticator, Aegis, 2FAS, andOTP, FreeOTP+, Ente Auth, Authenticator
//	      Pro, Bitwarden, Proton Pass, KeePassXC) or a backup; all or nothing
//	latchkey export --format uris|migration|aegis|backup [-o FILE] [--qr DIR]
//	    [--yes] [--store STORE]
//	      write every account for another authenticator (plain text asks first,
//	      written 0600), or as an age-encrypted backup
//	latchkey qr QUERY [-o FILE.png] [--size PIXELS] [--yes] [--store STORE]
//	      show an account as a QR code to scan with a phone (terminal or PNG)
//	latchkey store [info] | migrate --to keyring|file | accept-rollback | doctor
//	    [--remove|--reattach ID...] [--yes] [--store STORE]
//	      show where accounts are kept, move them to the other store, accept a
//	      store file put back from an older copy, or find keyring items no
//	      account names (doctor)
//	latchkey agent [--timeout 15m] [--log FILE]
//	      keep the file store's vault unlocked for the other commands, until
//	      idle for the timeout or 'latchkey lock' (the commands start it on
//	      demand; LATCHKEY_AGENT=off opens the vault without it)
//	latchkey lock
//	      make the agent forget the vault's secrets and passphrase (the next
//	      command asks for it again)
//	latchkey unlock
//	      unlock the file store's vault in the agent ahead of time, starting the
//	      agent if none runs
//	latchkey enroll LINK | - [--force] [--store STORE]
//	      redeem a one-time enrollment link from a Latchkey server (no QR
//	      needed)
//	latchkey pair LINK [QUERY] [--store STORE]
//	      pair an account with its server to approve sign-ins (a pairing link
//	      from the helpdesk)
//	latchkey requests [--json] [--wait] [--timeout D] [--store STORE]
//	      list the pending sign-in requests of every paired account (--wait for
//	      the next one)
//	latchkey approve ID [--store STORE]
//	      approve a pending sign-in request (ID or its first characters)
//	latchkey deny ID [--store STORE]
//	      deny a pending sign-in request (ID or its first characters)
//	latchkey serve [--addr 127.0.0.1:8080] [--db PATH|postgres://...]
//	    [--key-file F] [--config F] [--tls-cert F --tls-key F] [--public-url URL]
//	latchkey serve rotate-key [--db ...] [--key-file F] [--new-key-file F]
//	latchkey serve rotate-signing-key [--db ...] [--key-file F]
//	    [--signing-alg RS256|ES256]
//	latchkey serve metadata|jwks [--db ...] [--key-file F]
//	    [--public-url URL | --addr A [--tls-cert F --tls-key F]]
//	      run the enrollment and verification server
//	latchkey version
//	      print the version of latchkey
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
// keyring|file (before or after the command) or LATCHKEY_STORE and remembered after first use: the OS
// keyring (the default where one answers), or an age-encrypted vault whose
// passphrase comes from a prompt or LATCHKEY_PASSPHRASE. Where no keyring
// answers on first use, the UI and the commands on a terminal offer the
// vault (and create it at the first add, asking for its passphrase twice);
// scripts set LATCHKEY_STORE=file. LATCHKEY_HOME
// replaces the folder of accounts.json, the vault and the config (default:
// the user config dir's "latchkey").
//
// Secrets are never written to plain files: stored accounts keep theirs
// in the OS keyring or in an age-encrypted vault. A secret passed on the
// command line is visible to other users of the machine through the
// process list; prefer a file or standard input where a command offers it.
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

	"latchkey/core/label"
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
	// store is --store given before the command ("latchkey --store file
	// list"); a --store after it wins.
	store string
	// agentExe names the binary that `latchkey agent` runs from, for the
	// commands that start an agent on demand; nil starts none (tests).
	agentExe func() (string, error)
	// backupWorkFactor is the scrypt log2 N of new backups; zero means
	// age's default (18). Only tests set it, to run fast under -race: no
	// flag or variable can weaken a user's backup.
	backupWorkFactor int
	// typed is the passphrase typed for an agent that then could not
	// start: the command opens the vault itself with it rather than ask
	// again (passphrase hands it over once).
	typed []byte
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
	// others are quick and safe to end at any point, and Ctrl-C ends them
	// at once.
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
		agentCommand(),
		lockCommand(),
		unlockCommand(),
		clipboardClearCommand(),
		enrollCommand(),
		pairCommand(),
		requestsCommand(),
		approveCommand(),
		denyCommand(),
		serveCommand(),
		versionCommand(),
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, agentExe: os.Executable}
	return dispatch(ctx, e, args)
}

func dispatch(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 && !interactive(e) {
		printUsage(e.stdout) // not on a terminal: scripts get the usage
		return nil
	}
	if len(args) > 0 && tuiFlag(args[0]) {
		// Global flags before a command: --store goes with every command,
		// --log with the TUI, which alone runs with nothing after them.
		global, rest := leadingFlags(args)
		switch {
		case len(rest) == 0 || tuiFlag(rest[0]) || rest[0] == "tui":
			if len(rest) > 0 && rest[0] == "tui" {
				rest = rest[1:]
			}
			return runGraceful(ctx, e, tuiCommand().run, append(global, rest...))
		case strings.HasPrefix(rest[0], "-") && rest[0] != "--help" && rest[0] != "-h":
			return runGraceful(ctx, e, tuiCommand().run, args) // its flags, its errors
		}
		for i := 0; i < len(global); i++ {
			name, value, ok := strings.Cut(strings.TrimLeft(global[i], "-"), "=")
			if !ok {
				i++
				value = global[i]
			}
			if name == "log" {
				return usageErrorf("--log goes with the terminal UI (latchkey --log FILE), not with %q", rest[0])
			}
			e.store = value
		}
		args = rest
	}
	if len(args) == 0 {
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
	if c.graceful {
		return runGraceful(ctx, e, c.run, args[1:])
	}
	return c.run(ctx, e, args[1:])
}

// leadingFlags splits args into the global flags they start with
// (--store S, --store=S, --log F; see tuiFlag) and the rest. A flag whose
// value is missing is left in the rest.
func leadingFlags(args []string) (global, rest []string) {
	i := 0
	for i < len(args) && tuiFlag(args[i]) {
		if strings.Contains(args[i], "=") {
			i++
			continue
		}
		if i+1 >= len(args) {
			break
		}
		i += 2
	}
	return args[:i:i], args[i:]
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
	fmt.Fprint(w, commandList())
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'latchkey help COMMAND' or 'latchkey COMMAND --help' for a command's flags.")
	fmt.Fprintln(w, "--store keyring|file may also come before the command: latchkey --store file list.")
}

// commandList is every visible command's synopsis and, below it, its
// summary, wrapped to 78 columns. The package comment and the README
// show the same text (TestCommandListOneSource).
func commandList() string {
	var b strings.Builder
	for _, c := range commands() {
		if c.hidden {
			continue
		}
		// The synopsis's own lines (serve has a second form), each wrapped.
		for _, line := range strings.Split(strings.TrimSpace("latchkey "+c.name+" "+c.usage), "\n") {
			line = strings.TrimSpace(line)
			if c.usage == "" {
				line = "latchkey " + c.name
			}
			for i, l := range wrap(line, 76) {
				if i > 0 {
					b.WriteString("    ")
				}
				b.WriteString("  " + l + "\n")
			}
		}
		for _, l := range wrap(c.summary, 70) {
			b.WriteString("        " + l + "\n")
		}
	}
	return b.String()
}

// wrap breaks a synopsis into lines of at most width columns, between
// words, never inside brackets.
func wrap(s string, width int) []string {
	var words []string
	depth := 0
	for _, f := range strings.Fields(s) {
		if depth > 0 {
			words[len(words)-1] += " " + f
		} else {
			words = append(words, f)
		}
		depth += strings.Count(f, "[") - strings.Count(f, "]")
	}
	var lines []string
	line := ""
	for _, w := range words {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
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
	// Errors carry labels, file names and servers' words: nothing in them
	// may drive the terminal.
	msg := label.Terminal(strings.TrimSpace(err.Error()))
	if msg != "" {
		fmt.Fprintln(stderr, "latchkey: "+msg)
	}
	return code
}

// shown is an account's label as printed: stored labels are cleaned on
// the way in, and this escapes what older versions let through.
func shown(a store.Account) string { return label.Line(a.Label()) }
