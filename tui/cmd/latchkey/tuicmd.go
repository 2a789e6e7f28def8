package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/termenv"

	"latchkey/core/agent"
	"latchkey/core/clipboard"
	"latchkey/core/enroll"
	"latchkey/core/harden"
	"latchkey/core/store"
	"latchkey/tui"
	"latchkey/tui/common"
	"latchkey/tui/styles"
)

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

func runTUI(ctx context.Context, e *env, args []string) error {
	fs := newFlags(tuiCommand(), e)
	logPath := fs.String("log", "", "append a log of what the UI does to `FILE` (never to the terminal; no secrets or codes)")
	which := fs.String("store", "", "the account `STORE`: keyring or file (default: LATCHKEY_STORE, else the one used before)")
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	// The UI keeps secrets in memory for as long as it runs: no core dump
	// or same-user ptrace may copy them out (best effort; nothing to tell
	// the user if the OS refuses).
	_ = harden.NoCoreDumps()
	if len(pos) > 0 {
		return usageErrorf("unknown command %q; run 'latchkey help' for the list", pos[0])
	}
	if !interactive(e) {
		return usageErrorf("the terminal UI needs a terminal; run 'latchkey help' for the commands")
	}
	logger, closeLog, err := tuiLogger(*logPath)
	if err != nil {
		return err
	}
	defer closeLog()
	opts, err := tuiOptions(e, *which, logger)
	if err != nil {
		return err
	}
	out := e.stdout.(*os.File)
	c := common.New(ctx, tuiStyles(e, out), logger, e.now)
	p := tea.NewProgram(tui.New(c, opts),
		tea.WithContext(ctx), tea.WithInput(e.stdin), tea.WithOutput(out),
		tea.WithAltScreen(), tea.WithMouseCellMotion())
	logger.Info("tui start", "store", *which)
	final, err := p.Run()
	if m, ok := final.(tui.Model); ok {
		if cl, ok := m.Store().(io.Closer); ok {
			cl.Close()
		}
	}
	logger.Info("tui exit", "err", err)
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("terminal UI: %w", err)
	}
	return nil
}

// tuiLogger logs to path (appending), or nowhere.
func tuiLogger(path string) (*slog.Logger, func(), error) {
	if path == "" {
		return slog.New(slog.DiscardHandler), func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("--log: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, nil)), func() { f.Close() }, nil
}

// tuiStyles binds the styles to the terminal: adaptive colours follow its
// background, and NO_COLOR (any value) drops colour altogether.
func tuiStyles(e *env, out *os.File) *styles.Styles {
	r := lipgloss.NewRenderer(out)
	if e.getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	// Ask for the background now, before the UI owns the terminal.
	r.SetHasDarkBackground(r.HasDarkBackground())
	return styles.DefaultStyles(r)
}

// tuiOptions opens the store the way the other commands do (backend from
// --store, LATCHKEY_STORE or the remembered choice; LATCHKEY_HOME), but asks
// inside the UI for the vault passphrase (unless LATCHKEY_PASSPHRASE is
// set) and, when no keyring answers on first use, whether to take the file
// store instead.
func tuiOptions(e *env, which string, logger *slog.Logger) (tui.Options, error) {
	if which == "" {
		which = e.getenv("LATCHKEY_STORE")
	}
	var b store.Backend
	if which != "" {
		var err error
		if b, err = store.ParseBackend(which); err != nil {
			return tui.Options{}, usageErrorf("--store: %q is not a store; use keyring or file", which)
		}
	}
	home, err := store.DefaultHome(e.getenv)
	if err != nil {
		return tui.Options{}, err
	}
	o := tui.Options{
		Backend:   string(b),
		Clipboard: &tuiClipboard{env: e, logger: logger},
		Open: func(ctx context.Context, o tui.OpenOptions) (tui.Store, error) {
			be := b
			if o.Backend != "" {
				be = o.Backend // the file store, taken when no keyring answered
			}
			s, err := store.Open(ctx, store.Options{Home: home, Backend: be,
				Passphrase: o.Passphrase, NewPassphrase: o.NewPassphrase, Now: e.now})
			if err != nil {
				return nil, err
			}
			return tuiAgent(ctx, e, s, o, logger)
		},
		Enroll:    tuiEnroller(e),
		Approvals: tuiApprovals(e, logger),
	}
	if p := e.getenv("LATCHKEY_PASSPHRASE"); p != "" {
		o.Passphrase = func() ([]byte, error) { return []byte(p), nil }
	}
	return o, nil
}

// tuiAgent hands the UI the agent in place of s when s is the file store
// with a vault, as openAccounts does for the other commands: the running
// agent (unlocked with the UI's passphrase if it is locked) or one started
// now. The UI's passphrase callback says ErrNeedPassphrase until the user
// typed one, which brings up the UI's prompt; a wrong one,
// store.ErrBadPassphrase, brings it up again. No agent (LATCHKEY_AGENT=off,
// none could start, one that does not answer): s itself.
func tuiAgent(ctx context.Context, e *env, s *store.Store, o tui.OpenOptions, logger *slog.Logger) (tui.Store, error) {
	if s.Backend() != store.File || agentOff(e) {
		return s, nil
	}
	if _, err := os.Stat(filepath.Join(s.Home(), store.VaultFile)); err != nil {
		return s, nil // no vault yet: the UI creates it, then uses the agent on its next open
	}
	c, err := agent.Connect(ctx, agent.ConnectOptions{
		Home: s.Home(), Getenv: e.getenv, Passphrase: o.Passphrase, Exe: e.agentExe,
		Warn: func(msg string) { logger.Warn("agent passed by", "why", msg) },
	})
	if errors.Is(err, agent.ErrNoAgent) {
		logger.Info("no agent: the UI opens the vault itself")
		return s, nil
	}
	s.Close()
	if err != nil {
		return nil, err
	}
	logger.Info("using the agent")
	return c, nil
}

// tuiEnroller redeems enrollment links for the UI with core/enroll, as
// "latchkey enroll" does (same timeout and clock); the UI's store has the
// Add and Delete that enroll.Enroll needs.
func tuiEnroller(e *env) tui.Enroller {
	hc := &http.Client{Timeout: 30 * time.Second}
	return func(ctx context.Context, link string, s tui.Store, force bool) (tui.Account, error) {
		return enroll.Enroll(ctx, enroll.Client{HTTP: hc}, link, s, enroll.Options{Force: force, Now: e.now})
	}
}

// tuiClipboard copies with core/clipboard (a clipboard tool, or OSC 52 over
// SSH) and hands clearing to a detached "latchkey clipboard-clear", as
// "code --copy" does: it outlives the UI and clears only if the clipboard
// still holds the code.
type tuiClipboard struct {
	env    *env
	logger *slog.Logger
}

// Copy implements tui.Clipboard.
func (c *tuiClipboard) Copy(ctx context.Context, text string) (time.Duration, error) {
	cenv := clipboard.Env{Getenv: c.env.getenv, Terminal: c.env.stdout}
	m, err := clipboard.Copy(ctx, cenv, text)
	if err != nil {
		return 0, err
	}
	c.logger.Info("copied", "method", m)
	if m == clipboard.OSC52 {
		return 0, nil // the terminal's clipboard cannot be read back to clear it safely
	}
	key, err := clipboard.NewKey()
	if err != nil {
		return 0, fmt.Errorf("clipboard: %w", err)
	}
	after := clearDelay(c.env) // 30 s unless LATCHKEY_CLIPBOARD_CLEAR says otherwise
	exe, err := os.Executable()
	if err == nil {
		err = clipboard.StartClearer(exe, []string{"clipboard-clear", "--after", after.String()}, key, clipboard.Fingerprint(key, text))
	}
	if err != nil {
		c.logger.Warn("clipboard clearer not started", "err", err)
		return 0, nil
	}
	return after, nil
}
