package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/charmbracelet/x/term"

	"latchkey/core/label"
	"latchkey/core/store"
)

// storeFlag adds --store to a command that opens the account store.
func storeFlag(fs *flagSet) *string {
	return fs.String("store", "", "the account `STORE`: keyring or file (default: LATCHKEY_STORE, else the one used before)")
}

// openStore opens the account store the way every command does: the
// backend from --store, LATCHKEY_STORE or the remembered choice; the home
// from LATCHKEY_HOME; the vault passphrase from LATCHKEY_PASSPHRASE or a
// prompt on the terminal.
func openStore(ctx context.Context, e *env, flagValue string) (*store.Store, error) {
	name := flagValue
	if name == "" {
		name = e.store // --store before the command
	}
	if name == "" {
		name = e.getenv("LATCHKEY_STORE")
	}
	var b store.Backend
	if name != "" {
		var err error
		if b, err = store.ParseBackend(name); err != nil {
			return nil, usageErrorf("--store: %q is not a store; use keyring or file", name)
		}
	}
	home, err := store.DefaultHome(e.getenv)
	if err != nil {
		return nil, err
	}
	opts := store.Options{
		Home:          home,
		Backend:       b,
		Passphrase:    func() ([]byte, error) { return passphrase(e, false) },
		NewPassphrase: func() ([]byte, error) { return passphrase(e, true) },
		Now:           e.now,
	}
	s, err := store.Open(ctx, opts)
	if errors.Is(err, store.ErrKeyringUnavailable) && b == "" && fileInstead(e) {
		opts.Backend = store.File // core/store remembers it
		s, err = store.Open(ctx, opts)
	}
	if err != nil {
		return nil, storeError(err)
	}
	for _, w := range s.Warnings() {
		fmt.Fprintln(e.stderr, "latchkey: warning: "+label.Line(w))
	}
	return s, nil
}

// fileInstead asks, on a terminal, whether to keep the accounts in the
// encrypted file store, when no store was chosen yet and no keyring
// answers (store.Open's first-use probe). In a script the answer is no,
// and the error names LATCHKEY_STORE=file.
func fileInstead(e *env) bool {
	if _, ok := terminalIn(e); !ok {
		return false
	}
	yes, err := confirm(e.stdin, e.stderr, "The OS keyring is unavailable (no Secret Service, locked, or no D-Bus session).\n"+
		"Keep your accounts in an encrypted file instead (remembered; in scripts set LATCHKEY_STORE=file)?")
	return err == nil && yes
}

// terminalIn returns the file descriptor of standard input when it is a
// terminal.
func terminalIn(e *env) (uintptr, bool) {
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(f.Fd()) {
		return 0, false
	}
	return f.Fd(), true
}

var errNoPassphrase = errors.New("the file store needs its passphrase: set LATCHKEY_PASSPHRASE or run on a terminal")

// passphrase returns LATCHKEY_PASSPHRASE, or the one typed for an agent
// that could not start (env.typed), or asks on the terminal (twice for a
// new vault).
func passphrase(e *env, create bool) ([]byte, error) {
	if p := e.getenv("LATCHKEY_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	if p := e.typed; p != nil && !create {
		e.typed = nil
		return p, nil
	}
	fd, ok := terminalIn(e)
	if !ok {
		return nil, errNoPassphrase
	}
	prompt := "Vault passphrase: "
	if create {
		prompt = "New vault passphrase: "
	}
	fmt.Fprint(e.stderr, prompt)
	p, err := readPassword(e, fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if create {
		fmt.Fprint(e.stderr, "Again: ")
		q, err := readPassword(e, fd)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, err
		}
		if string(p) != string(q) {
			return nil, errors.New("the passphrases differ")
		}
	}
	return p, nil
}

// readPassword reads a line from the terminal without echo. Ctrl-C (or
// SIGTERM) while it waits puts the terminal back as it was and ends the
// process with status 130, rather than leaving the terminal without echo
// or swallowing the key.
func readPassword(e *env, fd uintptr) ([]byte, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sig:
			term.Restore(fd, state)
			fmt.Fprintln(e.stderr)
			os.Exit(130)
		case <-done:
		}
	}()
	return term.ReadPassword(fd)
}

// messageError replaces an error's text while keeping it for errors.Is.
type messageError struct {
	msg string
	err error
}

func (m *messageError) Error() string { return m.msg }
func (m *messageError) Unwrap() error { return m.err }

// storeError turns a store error into what a user reads: the keyring
// sentence alone, duplicates with the way out, no "store:" noise.
func storeError(err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	switch {
	case errors.Is(err, store.ErrKeyringUnavailable):
		return &messageError{store.ErrKeyringUnavailable.Error(), err}
	case errors.Is(err, store.ErrBadPassphrase):
		return &messageError{"wrong passphrase for the vault (nothing was changed)", err}
	case errors.Is(err, store.ErrNoPassphrase):
		return &messageError{errNoPassphrase.Error(), err}
	}
	return &messageError{strings.ReplaceAll(err.Error(), "store: ", ""), err}
}

// findOne resolves QUERY to exactly one account: none is exit 1, several
// is exit 2 with the candidates listed.
func findOne(ctx context.Context, s accounts, cmd, query string) (store.Account, error) {
	as, err := s.Find(ctx, query)
	if err != nil {
		return store.Account{}, storeError(err)
	}
	switch len(as) {
	case 0:
		return store.Account{}, exitWith(1, fmt.Errorf("%s: no account matches %q", cmd, query))
	case 1:
		return as[0], nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %q matches %d accounts; be more specific (issuer:name or the id):", cmd, query, len(as))
	for _, a := range as {
		fmt.Fprintf(&b, "\n  %-40s %s", shown(a), a.ID)
	}
	return store.Account{}, exitWith(2, errors.New(b.String()))
}

func storeCommand() command {
	return command{
		name:     "store",
		graceful: true,
		usage:    "[info] | migrate --to keyring|file | accept-rollback | doctor [--remove|--reattach ID...] [--yes] [--store STORE]",
		summary:  "show where accounts are kept, move them to the other store, accept a store file put back from an older copy, or find keyring items no account names (doctor)",
		run:      runStore,
	}
}

func runStore(ctx context.Context, e *env, args []string) error {
	fs := newFlags(storeCommand(), e)
	which := storeFlag(fs)
	to := fs.String("to", "", "with migrate: the store to move every account to, `keyring` or file")
	remove := fs.Bool("remove", false, "with doctor: delete the orphaned keyring items named (asks on a terminal)")
	reattach := fs.Bool("reattach", false, "with doctor: give the orphaned keyring items named an account again, as Recovered:ID (TOTP, SHA1, 6 digits, 30 s)")
	yes := fs.Bool("yes", false, "with doctor --remove: do not ask")
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	sub := "info"
	if len(pos) > 0 {
		sub = pos[0]
	}
	if len(pos) > 1 && sub != "doctor" {
		return usageErrorf("store: unexpected argument %q", pos[1])
	}
	switch sub {
	case "info":
		if *to != "" {
			return usageErrorf("store: --to goes with migrate")
		}
		s, err := openStore(ctx, e, *which)
		if err != nil {
			return err
		}
		defer s.Close()
		as, err := s.List(ctx)
		if err != nil {
			return storeError(err)
		}
		fmt.Fprintf(e.stdout, "store:    %s\nhome:     %s\naccounts: %d\n", s.Backend(), s.Home(), len(as))
		if err := s.Rollback(); err != nil {
			fmt.Fprintln(e.stderr, "latchkey: warning: "+err.Error())
		}
		return nil
	case "doctor":
		return runDoctor(ctx, e, *which, pos[1:], *remove, *reattach, *yes)
	case "accept-rollback":
		s, err := openStore(ctx, e, *which)
		if err != nil {
			return err
		}
		defer s.Close()
		if _, err := s.List(ctx); err != nil {
			return storeError(err)
		}
		if s.Rollback() == nil {
			fmt.Fprintln(e.stdout, "the store is not older than any seen before; nothing to accept")
			return nil
		}
		if err := s.AcceptRollback(); err != nil {
			return storeError(err)
		}
		fmt.Fprintln(e.stdout, "accepted: HOTP codes are shown again (codes already used may come up again)")
		return nil
	case "migrate":
		dst, err := store.ParseBackend(*to)
		if err != nil {
			return usageErrorf("store migrate: --to keyring or --to file is required")
		}
		s, err := openStore(ctx, e, *which)
		if err != nil {
			return err
		}
		defer s.Close()
		from := s.Backend()
		if done, err := migrateInAgent(ctx, e, s, dst); done || err != nil {
			return err
		}
		as, err := s.List(ctx)
		if err != nil {
			return storeError(err)
		}
		if err := s.Migrate(ctx, dst, nil); err != nil {
			return storeError(err)
		}
		fmt.Fprintf(e.stdout, "moved %s from %s to %s\n", nAccounts(len(as)), from, dst)
		return nil
	}
	return usageErrorf("store: unknown subcommand %q (info, migrate, accept-rollback or doctor)", sub)
}

// migrateInAgent moves the file store to the keyring in the agent that
// serves its vault, when one runs: it holds the vault unlocked (no
// second scrypt here), and it must not go on serving a vault that moved
// away (it locks after). done is false when no agent runs (none is
// started for a one-off move): the caller migrates itself.
func migrateInAgent(ctx context.Context, e *env, s *store.Store, dst store.Backend) (done bool, err error) {
	if s.Backend() != store.File || dst != store.Keyring || agentOff(e) {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(s.Home(), store.VaultFile)); err != nil {
		return false, nil
	}
	c, err := agentFor(ctx, e, s.Home(), false)
	if errors.Is(err, errNoAgentHere) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	defer c.Close()
	as, err := c.List(ctx)
	if err != nil {
		return true, storeError(err)
	}
	if err := c.Migrate(ctx, dst); err != nil {
		return true, storeError(err)
	}
	fmt.Fprintf(e.stdout, "moved %s from %s to %s\n", nAccounts(len(as)), store.File, dst)
	return true, nil
}

// confirm asks a yes/no question; only y or yes is yes.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// storeErrorIn is storeError for a command: the one-sentence errors stay
// alone, others get the command's name in front.
func storeErrorIn(cmd string, err error) error {
	se := storeError(err)
	for _, sentence := range []error{store.ErrKeyringUnavailable, store.ErrBadPassphrase, store.ErrNoPassphrase} {
		if errors.Is(err, sentence) {
			return se
		}
	}
	msg := se.Error()
	// The store may have named the step already ("add: passphrase: ...").
	if !strings.HasPrefix(msg, cmd+": ") {
		msg = cmd + ": " + msg
	}
	return &messageError{msg, err}
}

// reportMissing says, for each account whose keyring item is gone, that
// it was left out (what: "not exported", "no code for") and how to mend it.
func reportMissing(ctx context.Context, e *env, s accounts, what string, m *store.MissingError) error {
	as, err := s.List(ctx)
	if err != nil {
		return storeError(err)
	}
	for _, a := range as {
		if slices.Contains(m.IDs, a.ID) {
			fmt.Fprintf(e.stderr, "latchkey: %s %s: the keyring has no secret for it (deleted outside Latchkey?); 'latchkey rm %s --yes' removes the account\n", what, shown(a), a.ID)
		}
	}
	return nil
}

// runDoctor lists keyring items that no account names, and removes the
// ones named or gives them accounts again. Items are named one by one:
// another LATCHKEY_HOME on the same keyring has items this store does not
// know, which look the same.
func runDoctor(ctx context.Context, e *env, which string, ids []string, remove, reattach, yes bool) error {
	switch {
	case remove && reattach:
		return usageErrorf("store doctor: --remove or --reattach, not both")
	case (remove || reattach) && len(ids) == 0:
		return usageErrorf("store doctor: name the items (IDs from 'latchkey store doctor')")
	case !remove && !reattach && len(ids) > 0:
		return usageErrorf("store doctor: IDs go with --remove or --reattach")
	}
	s, err := openStore(ctx, e, which)
	if err != nil {
		return err
	}
	defer s.Close()
	if len(ids) == 0 {
		orphans, err := s.Orphans(ctx)
		if err != nil {
			return storeError(err)
		}
		if len(orphans) == 0 {
			fmt.Fprintln(e.stdout, "no orphaned keyring items: every item has its account")
			return nil
		}
		for _, id := range orphans {
			fmt.Fprintf(e.stdout, "orphaned keyring item %s (service latchkey): no account of this store names it\n", id)
		}
		fmt.Fprintln(e.stderr, "latchkey: items of another LATCHKEY_HOME on this keyring show up here too; 'latchkey store doctor --reattach ID...' gives an item an account again, --remove ID... deletes it")
		return nil
	}
	if reattach {
		for _, id := range ids {
			a, err := s.Reattach(ctx, id, store.Account{Issuer: "Recovered", Name: id})
			if err != nil {
				return storeError(err)
			}
			fmt.Fprintf(e.stdout, "reattached as %s (TOTP, SHA1, 6 digits, 30 s: rename it, and check its codes)\n", shown(a))
		}
		return nil
	}
	if !yes {
		if !interactive(e) {
			return usageErrorf("store doctor: not removing keyring items without confirmation: run it on a terminal or pass --yes")
		}
		ok, err := confirm(e.stdin, e.stderr, fmt.Sprintf("Delete %d secrets from the keyring? This cannot be undone.", len(ids)))
		if err != nil || !ok {
			return exitWith(1, errors.New("store doctor: nothing removed"))
		}
	}
	for _, id := range ids {
		if err := s.RemoveOrphan(ctx, id); err != nil {
			return storeError(err)
		}
	}
	fmt.Fprintf(e.stdout, "removed %d orphaned keyring items\n", len(ids))
	return nil
}
