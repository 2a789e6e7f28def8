// Package app is Latchkey's desktop application. Run starts it with Fyne's
// GL driver and connects the screens (package app/ui, which does not import
// fyne.io/fyne/v2/app and is tested on Fyne's test driver without cgo) to
// the real account store, QR decoder and clock check.
//
// Environment:
//
//	LATCHKEY_HOME        the store's folder (default: the user config dir's "latchkey"); it
//	                     also holds desktop.json, the desktop app's settings (theme, clipboard, idle lock)
//	LATCHKEY_STORE       keyring or file (default: the remembered choice, else the keyring)
//	LATCHKEY_PASSPHRASE  the file store's passphrase, for tests and kiosks (default: asked)
//	LATCHKEY_SERVER      an enrollment server URL whose Date header checks the clock
//	LATCHKEY_AGENT       off: open the file store's vault here rather than through the agent
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"latchkey/app/ui"
	"latchkey/assets"
	"latchkey/core/agent"
	"latchkey/core/enroll"
	"latchkey/core/harden"
	"latchkey/core/qr"
	"latchkey/core/store"
)

// ID is the application identifier, as in FyneApp.toml.
const ID = "dev.latchkey.desktop"

// usage is what --help prints.
const usage = `Usage: latchkey-desktop [--help | --version]

Latchkey's desktop authenticator: the codes of your TOTP and HOTP accounts,
kept in the system keyring or in an encrypted file. It needs a graphical
display; in a terminal or over SSH use the latchkey command instead.

Options:
  --help     print this help and exit
  --version  print the version and exit

Environment:
  LATCHKEY_HOME        the store's folder (default: the user config dir's "latchkey"); it
                       also holds desktop.json, this app's settings (theme, clipboard, idle lock)
  LATCHKEY_STORE       keyring or file (default: the remembered choice, else the keyring)
  LATCHKEY_PASSPHRASE  the file store's passphrase, for tests and kiosks (default: asked)
  LATCHKEY_SERVER      an enrollment server URL whose Date header checks the clock
  LATCHKEY_AGENT       off: open the file store's vault here rather than through the
                       agent (the latchkey command's, started from it when none runs)
`

// Run starts the desktop app and returns the process exit status. version
// is the one stamped into the binary at link time ("" = the module's
// build info); --version prints it and --help the usage, without a display.
func Run(args []string, version string) int {
	fs := flag.NewFlagSet("latchkey-desktop", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, in one line
	showVersion := fs.Bool("version", false, "")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp) || (err == nil && fs.Arg(0) == "help"):
		fmt.Print(usage)
		return 0
	case err == nil && fs.NArg() > 0 && fs.Arg(0) != "version":
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "latchkey-desktop: %v (see latchkey-desktop --help)\n", err)
		return 2
	}
	if *showVersion || fs.Arg(0) == "version" {
		fmt.Println("latchkey-desktop", ui.Version(version))
		return 0
	}
	if why := noDisplay(runtime.GOOS, os.Getenv); why != "" {
		fmt.Fprintln(os.Stderr, "latchkey-desktop:", why)
		return 1
	}
	// The window keeps secrets in memory while it is open: no core dump
	// or same-user ptrace may copy them out (best effort).
	_ = harden.NoCoreDumps()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	deps, err := newDeps(os.Getenv, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latchkey-desktop:", err)
		return 2
	}

	a := fyneapp.NewWithID(ID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	w, err := newWindow(a, "Latchkey")
	if err != nil {
		fmt.Fprintln(os.Stderr, "latchkey-desktop:", err)
		return 1
	}
	w.Resize(fyne.NewSize(420, 640))
	u := ui.New(w, deps)
	ctx, cancel := context.WithCancel(context.Background())
	a.Lifecycle().SetOnStarted(func() { u.Start(ctx) })
	// Stop while the window (and the clipboard) still exists: a code
	// waiting to be cleared is cleared now, not left behind.
	w.SetCloseIntercept(func() {
		cancel()
		u.Stop()
		w.Close()
	})
	w.ShowAndRun()
	cancel()
	return 0
}

// noDisplay says why no window can open, or "" when one may: on the
// platforms where Fyne draws through X11 (or Wayland), a session without
// DISPLAY or WAYLAND_DISPLAY has no display, and GLFW would panic.
func noDisplay(goos string, getenv func(string) string) string {
	switch goos {
	case "darwin", "windows", "android", "ios", "js", "wasip1":
		return ""
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return "no graphical display (DISPLAY is not set); run it in a desktop session, or use the latchkey command in a terminal"
	}
	return ""
}

// newWindow makes the app's window. GLFW panics when the display named in
// DISPLAY cannot be opened; that becomes an error, not a stack trace.
func newWindow(a fyne.App, title string) (w fyne.Window, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("cannot open a window on display %q: %v", os.Getenv("DISPLAY"), r)
		}
	}()
	return a.NewWindow(title), nil
}

// newDeps connects the screens to the store, the QR decoder and the
// environment.
func newDeps(getenv func(string) string, log *slog.Logger) (ui.Deps, error) {
	d := ui.Deps{Log: log, DecodeQR: decodeQR}
	// Enrollment links: enroll.Enroll around the open store (a
	// *store.Store), with a timeout so a silent server cannot hang the
	// progress bar forever.
	d.Enroll = ui.DefaultEnroller(&http.Client{Timeout: 30 * time.Second})
	// Import/Export: core/transfer/storeio on the open *store.Store.
	d.Transfer = ui.Transfer{Import: ui.StoreImport, Export: ui.StoreExport}
	if s := getenv("LATCHKEY_STORE"); s != "" {
		b, err := store.ParseBackend(s)
		if err != nil {
			return d, fmt.Errorf("LATCHKEY_STORE: %w", err)
		}
		d.Backend = b
	}
	// The desktop's own settings (theme, clipboard, idle lock) sit beside the store.
	home, err := store.DefaultHome(getenv)
	if err != nil {
		return d, err
	}
	f := settingsFile{path: filepath.Join(home, store.DesktopFile)}
	d.LoadSettings, d.SaveSettings = f.load, f.save
	if p := getenv("LATCHKEY_PASSPHRASE"); p != "" {
		d.Passphrase = func() ([]byte, error) { return []byte(p), nil }
	}
	d.Open = func(ctx context.Context, b ui.Backend, p ui.Prompts) (ui.Store, error) {
		s, err := store.Open(ctx, store.Options{Home: home, Backend: b, Passphrase: p.Passphrase, NewPassphrase: p.NewPassphrase})
		if err != nil {
			return nil, err
		}
		// The file store goes through the agent, as the latchkey command
		// does; LATCHKEY_AGENT=off opens the vault here.
		if !strings.EqualFold(getenv("LATCHKEY_AGENT"), "off") {
			a, ok, err := ui.ViaAgent(ctx, s, agent.ConnectOptions{Getenv: getenv, Passphrase: p.Passphrase, Exe: agent.Exe,
				Warn: func(msg string) { log.Warn("agent passed by", "why", msg) }})
			if ok || err != nil {
				return a, err
			}
		}
		return &releasing{Store: s}, nil
	}
	if srv := strings.TrimRight(getenv("LATCHKEY_SERVER"), "/"); srv != "" {
		// The clock check: the server's Date header (core/enroll), with a
		// client of its own whose timeout ends a hung check.
		hc := &http.Client{Timeout: 10 * time.Second}
		d.ClockSkew = func(ctx context.Context) (time.Duration, error) { return enroll.ClockSkew(ctx, hc, srv) }
	}
	return d, nil
}

// releasing is the store with one change: after the first List, which is
// where the file store unlocks its vault with scrypt (age: N=2^18, r=8,
// 256 MiB), that memory goes back to the OS instead of staying resident
// for the life of the window.
type releasing struct {
	*store.Store
	once sync.Once
}

// List lists the accounts.
func (s *releasing) List(ctx context.Context) ([]store.Account, error) {
	as, err := s.Store.List(ctx)
	s.once.Do(debug.FreeOSMemory)
	return as, err
}

// decodeQR reads a PNG or JPEG image and returns its QR codes' texts.
func decodeQR(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, qr.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	return qr.Decode(data)
}
