package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/x/term"

	"latchkey/core/label"
	"latchkey/core/transfer"
	"latchkey/core/transfer/storeio"
)

func importCommand() command {
	return command{
		name:     "import",
		graceful: true,
		usage:    "[--format FORMAT] [--dry-run] [--store STORE] FILE... | -",
		summary:  "add accounts from other apps (otpauth URI lists, QR images, Google Authenticator, Aegis, 2FAS, andOTP, FreeOTP+, Ente Auth, Authenticator Pro, Bitwarden, Proton Pass, KeePassXC) or a backup; all or nothing",
		run:      runImport,
	}
}

func runImport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(importCommand(), e)
	format := fs.String("format", "", "read the input as `FORMAT`: "+formatNames()+" (default: detected from the content)")
	dry := fs.Bool("dry-run", false, "show what would be added without changing anything")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) == 0 {
		return usageErrorf("import: name a FILE to import (or - for standard input)")
	}
	var opts transfer.Options
	if *format != "" {
		if opts.Format, err = transfer.ParseFormat(*format); err != nil {
			return usageErrorf("import: --format: %v", err)
		}
	}
	opts.Passphrase = func() ([]byte, error) {
		return askSecret(e, "LATCHKEY_IMPORT_PASSPHRASE", "Password of the file to import: ", false)
	}
	files := make([]transfer.File, 0, len(pos))
	for _, name := range pos {
		data, err := readInput(e, name)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if name == "-" {
			name = "standard input"
		}
		files = append(files, transfer.File{Name: name, Data: data})
	}
	res, err := transfer.ReadFiles(files, opts)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(e.stderr, "latchkey: warning: "+w)
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	if *dry {
		items, sum, err := storeio.Plan(ctx, s, res.Entries)
		if err != nil {
			return fmt.Errorf("import: %w", storeError(err))
		}
		for _, it := range items {
			fmt.Fprintln(e.stdout, "would add "+it.Account.Label())
		}
		printDetails(e.stderr, sum)
		fmt.Fprintln(e.stdout, "dry run: "+summaryLine(len(items), sum, res.NoOTP))
		return nil
	}
	sum, err := storeio.Import(ctx, s, res.Entries)
	if err != nil {
		return fmt.Errorf("import: nothing was added: %w", storeError(err))
	}
	printDetails(e.stderr, sum)
	fmt.Fprintln(e.stdout, summaryLine(len(sum.Added), sum, res.NoOTP))
	return nil
}

// summaryLine counts what the import did; noOTP, the logins of a
// password manager's export without a one-time code, is named only when
// there were some.
func summaryLine(added int, sum storeio.Summary, noOTP int) string {
	line := fmt.Sprintf("added %d, skipped %d (already present), unsupported %d", added, len(sum.Skipped), len(sum.Unsupported))
	if noOTP > 0 {
		line += fmt.Sprintf(", logins without a one-time code %d", noOTP)
	}
	return line
}

func formatNames() string {
	names := make([]string, len(transfer.Formats))
	for i, f := range transfer.Formats {
		names[i] = string(f)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func printDetails(w io.Writer, sum storeio.Summary) {
	for _, r := range sum.Renamed {
		fmt.Fprintf(w, "latchkey: %s exists with another secret; imported as %s\n", r.From, r.To)
	}
	for _, c := range sum.Cleaned {
		fmt.Fprintf(w, "latchkey: %s held control characters; imported as %s\n", c.From, c.To)
	}
	for _, u := range sum.Unsupported {
		fmt.Fprintf(w, "latchkey: not imported: %s: %s\n", label.Line(u.Label), label.Line(u.Reason))
	}
}

// readInput reads a file, or standard input for "-", refusing more than
// transfer.MaxInput bytes.
func readInput(e *env, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = e.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > transfer.MaxInput {
			return nil, fmt.Errorf("%s: %w: more than %d MiB", name, transfer.ErrTooLarge, transfer.MaxInput>>20)
		}
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, transfer.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > transfer.MaxInput {
		return nil, fmt.Errorf("%s: %w: more than %d MiB", name, transfer.ErrTooLarge, transfer.MaxInput>>20)
	}
	return data, nil
}

// askSecret returns the environment variable env, or asks on the
// terminal (twice when confirm is set).
func askSecret(e *env, envName, prompt string, confirm bool) ([]byte, error) {
	if p := e.getenv(envName); p != "" {
		return []byte(p), nil
	}
	fd, ok := terminalIn(e)
	if !ok {
		return nil, fmt.Errorf("a password is needed: set %s or run on a terminal", envName)
	}
	fmt.Fprint(e.stderr, prompt)
	p, err := term.ReadPassword(fd)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty password")
	}
	if confirm {
		fmt.Fprint(e.stderr, "Again: ")
		q, err := term.ReadPassword(fd)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, err
		}
		if string(p) != string(q) {
			return nil, errors.New("the passwords differ")
		}
	}
	return p, nil
}
