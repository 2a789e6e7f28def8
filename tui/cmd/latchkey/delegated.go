package main

import (
	"os"
	"strings"

	"github.com/charmbracelet/x/term"
)

// The commands below need the terminal UI, the transfer formats, HTTP or
// the server. The full build (the default) runs them in-process; the lean
// build (-tags lean, bin/latchkey of `make build`) leaves all of that out,
// so that it starts in a fraction of the time, and runs them in
// latchkey-full instead (lean.go). Their names and help live here, shared
// by both builds.

// serveUsage is server.Usage, which the lean build cannot import
// (TestServeSynopsis keeps the two equal).
const serveUsage = `[--addr 127.0.0.1:8080] [--db PATH|postgres://...] [--key-file F] [--config F] [--tls-cert F --tls-key F] [--public-url URL]
       latchkey serve rotate-key [--db ...] [--key-file F] [--new-key-file F]`

// tuiCommand is the terminal UI. It is also what latchkey runs on a
// terminal with no command, or with only the UI's flags
// ("latchkey --log FILE").
func tuiCommand() command {
	return command{
		name:     "tui",
		graceful: true,
		usage:    "[--store keyring|file] [--log FILE]",
		summary:  "the terminal UI (what latchkey runs with no arguments on a terminal)",
		run:      runTUI,
	}
}

// tuiFlag reports whether arg is a flag of the terminal UI, so that
// "latchkey --log FILE" starts the UI rather than looking for a command.
func tuiFlag(arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return strings.HasPrefix(arg, "-") && (name == "log" || name == "store")
}

// interactive reports whether standard input and output are terminals.
func interactive(e *env) bool {
	in, ok1 := e.stdin.(*os.File)
	out, ok2 := e.stdout.(*os.File)
	return ok1 && ok2 && term.IsTerminal(in.Fd()) && term.IsTerminal(out.Fd())
}

func importCommand() command {
	return command{
		name:     "import",
		graceful: true,
		usage:    "[--format FORMAT] [--dry-run] [--store STORE] FILE... | -",
		summary:  "add accounts from other authenticators (URIs, QR images, Google, Aegis, 2FAS) or a backup",
		run:      runImport,
	}
}

func exportCommand() command {
	return command{
		name:     "export",
		graceful: true,
		usage:    "--format uris|migration|aegis|backup [-o FILE] [--qr DIR] [--yes] [--store STORE]",
		summary:  "write every account for another authenticator, or as an encrypted backup",
		run:      runExport,
	}
}

func qrCommand() command {
	return command{
		name:    "qr",
		usage:   "QUERY [-o FILE.png] [--size PIXELS] [--yes] [--store STORE]",
		summary: "show an account as a QR code to scan with a phone (terminal or PNG)",
		run:     runQR,
	}
}

func enrollCommand() command {
	return command{
		name:     "enroll",
		graceful: true,
		usage:    "LINK | - [--force] [--store STORE]",
		summary:  "redeem a one-time enrollment link from a Latchkey server (no QR needed)",
		run:      runEnroll,
	}
}

func serveCommand() command {
	return command{
		name:     "serve",
		graceful: true,
		usage:    serveUsage,
		summary:  "run the enrollment and verification server",
		run:      runServe,
	}
}
