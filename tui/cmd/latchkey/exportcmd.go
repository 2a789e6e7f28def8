package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/charmbracelet/x/term"

	"latchkey/core/qr"
	"latchkey/core/store"
	"latchkey/core/transfer"
	"latchkey/core/transfer/storeio"
)

func exportCommand() command {
	return command{
		name:     "export",
		graceful: true,
		usage:    "--format uris|migration|aegis|backup [-o FILE] [--qr DIR] [--yes] [--store STORE]",
		summary:  "write every account for another authenticator (plain text asks first, written 0600), or as an age-encrypted backup",
		run:      runExport,
	}
}

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(exportCommand(), e)
	format := fs.String("format", "", "`FORMAT`: uris (otpauth URI list), migration (Google Authenticator), aegis (plain Aegis vault) or backup (age-encrypted, everything)")
	out := fs.String("o", "", "write to `FILE` (created 0600) instead of standard output")
	qrDir := fs.String("qr", "", "with --format migration: write one PNG per batch into `DIR`")
	yes := fs.Bool("yes", false, "do not ask before writing secrets in plain text")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) > 0 {
		return usageErrorf("export: unexpected argument %q", pos[0])
	}
	f := transfer.Format(*format)
	switch f {
	case transfer.FormatURIs, transfer.FormatAegis, transfer.FormatMigration, transfer.FormatBackup:
	case "":
		return usageErrorf("export: --format uris, migration, aegis or backup is required")
	default:
		return usageErrorf("export: --format %q: use uris, migration, aegis or backup", *format)
	}
	if *qrDir != "" && (f != transfer.FormatMigration || *out != "") {
		return usageErrorf("export: --qr DIR goes with --format migration and without -o")
	}
	if f != transfer.FormatBackup && !*yes {
		if _, ok := terminalIn(e); !ok {
			return fmt.Errorf("export: %s", errNeedYes)
		}
	}
	toStdout := *out == "" || *out == "-"
	if f == transfer.FormatBackup && toStdout && isTerminal(e.stdout) {
		return usageErrorf("export: a backup is binary; write it to a file with -o FILE")
	}

	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	entries, err := storeio.Export(ctx, s)
	var missing *store.MissingError
	if errors.As(err, &missing) {
		if err := reportMissing(ctx, e, s, "not exported", missing); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("export: %w", storeError(err))
	}
	if len(entries) == 0 {
		return exitWith(1, fmt.Errorf("export: there are no accounts to export"))
	}

	var data []byte
	var skipped []transfer.Skipped
	var uris []string
	switch f {
	case transfer.FormatURIs:
		data, skipped = transfer.WriteURIs(entries)
	case transfer.FormatAegis:
		if data, skipped, err = transfer.WriteAegis(entries); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	case transfer.FormatMigration:
		if uris, skipped, err = transfer.MigrationURIs(entries, 0); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for _, u := range uris {
			data = append(data, u...)
			data = append(data, '\n')
		}
	case transfer.FormatBackup:
		pass, err := askSecret(e, "LATCHKEY_BACKUP_PASSPHRASE", "Password for the backup: ", true)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		var buf bytes.Buffer
		if skipped, err = transfer.WriteBackup(&buf, entries, pass, transfer.BackupOptions{Now: e.now(), WorkFactor: e.backupWorkFactor}); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		clear(pass)
		data = buf.Bytes()
	}
	for _, sk := range skipped {
		fmt.Fprintf(e.stderr, "latchkey: not exported: %s: %s\n", sk.Label, sk.Reason)
	}
	n := len(entries) - len(skipped)
	if n == 0 {
		return exitWith(1, fmt.Errorf("export: no account can be written as %s", f))
	}

	if f != transfer.FormatBackup {
		ok, err := confirmPlain(e, *yes, fmt.Sprintf("This writes the secrets of %s unencrypted; anyone who reads them can make your codes. Continue?", nAccounts(n)))
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if !ok {
			return exitWith(1, fmt.Errorf("export: cancelled; nothing was written"))
		}
	}

	switch {
	case *qrDir != "":
		if err := writeQRDir(e, *qrDir, uris); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	case f == transfer.FormatMigration && toStdout && isTerminal(e.stdout):
		if err := showQRs(e, uris); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	case toStdout:
		if _, err := e.stdout.Write(data); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	default:
		if err := transfer.WriteFile(*out, data); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	fmt.Fprintf(e.stderr, "latchkey: exported %s as %s\n", nAccounts(n), f)
	return nil
}

var errNeedYes = errors.New("this shows secrets in plain text; run it on a terminal to confirm, or pass --yes")

// confirmPlain asks before secrets are shown or written in plain text: yes
// skips the question; without a terminal to ask on, --yes is required.
func confirmPlain(e *env, yes bool, question string) (bool, error) {
	if yes {
		return true, nil
	}
	if _, ok := terminalIn(e); !ok {
		return false, errNeedYes
	}
	return confirm(e.stdin, e.stderr, question)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// writeQRDir writes one PNG per migration batch into dir (created 0700).
func writeQRDir(e *env, dir string, uris []string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i, u := range uris {
		png, err := qr.PNG(u, 600)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, fmt.Sprintf("latchkey-migration-%d-of-%d.png", i+1, len(uris)))
		if err := transfer.WriteFile(p, png); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, p)
	}
	return nil
}

// showQRs draws the migration QR codes on the terminal one after another,
// waiting for Enter between them.
func showQRs(e *env, uris []string) error {
	in := bufio.NewReader(e.stdin)
	for i, u := range uris {
		art, err := qr.Terminal(u)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\x1b[2J\x1b[HGoogle Authenticator > Transfer accounts > Import: QR code %d of %d\n\n%s\n", i+1, len(uris), art)
		if i < len(uris)-1 {
			fmt.Fprint(e.stdout, "Press Enter for the next one. ")
		} else {
			fmt.Fprint(e.stdout, "Press Enter when done. ")
		}
		if _, err := in.ReadString('\n'); err != nil && err != io.EOF {
			return err
		}
	}
	fmt.Fprint(e.stdout, "\x1b[2J\x1b[H")
	return nil
}

// nAccounts is "1 account" or "N accounts".
func nAccounts(n int) string {
	if n == 1 {
		return "1 account"
	}
	return fmt.Sprintf("%d accounts", n)
}
