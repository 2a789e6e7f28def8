package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"latchkey/core/clipboard"
	"latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

func codeCommand() command {
	return command{
		name:    "code",
		usage:   "QUERY [--copy] [--store STORE] | --uri URI [--at TIME]",
		summary: "print the code of the one matching account (exit 1 if none, 2 if several; --copy clears the clipboard after 30 s), or of an otpauth URI at TIME (unix seconds or RFC 3339)",
		run:     runCode,
	}
}

func runCode(ctx context.Context, e *env, args []string) error {
	fs := newFlags(codeCommand(), e)
	uri := fs.String("uri", "", "compute the code of this otpauth:// `URI` (stateless; nothing is stored; - reads it from standard input, off the process list)")
	at := fs.String("at", "", "the `TIME` to compute the code at: unix seconds or RFC 3339 (default now)")
	cp := fs.Bool("copy", false, "put the code on the clipboard instead of printing it; cleared after 30 s if unchanged")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if *uri == "" && len(pos) == 0 {
		return usageErrorf("code: give a QUERY (issuer, name or issuer:name), or --uri URI")
	}
	if *uri != "" && len(pos) > 0 {
		return usageErrorf("code: unexpected argument %q with --uri", pos[0])
	}
	if len(pos) > 1 {
		return usageErrorf("code: one QUERY at a time (quote it if it has spaces)")
	}
	t := e.now()
	if *at != "" {
		if t, err = parseTime(*at); err != nil {
			return fmt.Errorf("code: --at: %w", err)
		}
	}
	if *uri == "-" {
		if *uri, err = readLine(e); err != nil {
			return fmt.Errorf("code: %w", err)
		}
	}
	var code, label string
	if *uri != "" {
		if code, err = uriCode(e, *uri, t); err != nil {
			return err
		}
	} else {
		if code, label, err = storedCode(ctx, e, *which, pos[0], t, *at != ""); err != nil {
			return err
		}
	}
	if *cp {
		return copyCode(ctx, e, code, label)
	}
	_, err = fmt.Fprintln(e.stdout, code)
	return err
}

func uriCode(e *env, uri string, t time.Time) (string, error) {
	k, err := otpauth.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("code: %w", err)
	}
	for _, w := range k.Warnings {
		fmt.Fprintln(e.stderr, "latchkey: warning: "+label.Line(w))
	}
	g, err := k.Generator()
	if err != nil {
		return "", fmt.Errorf("code: %w", err)
	}
	if k.Type == otp.HOTP {
		return g.Code(k.Counter), nil
	}
	return g.At(t), nil
}

// storedCode is the code of the one account matching query. It reads one
// secret only; a HOTP counter is advanced and saved before the code is
// returned.
func storedCode(ctx context.Context, e *env, which, query string, t time.Time, atGiven bool) (code, label string, err error) {
	s, err := openAccounts(ctx, e, which)
	if err != nil {
		return "", "", err
	}
	defer s.Close()
	a, err := findOne(ctx, s, "code", query)
	if err != nil {
		return "", "", err
	}
	if a.Type == otp.HOTP {
		if atGiven {
			return "", "", usageErrorf("code: --at does not apply to %s, a HOTP account", shown(a))
		}
		code, _, err = s.NextHOTP(ctx, a.ID)
		if err != nil {
			return "", "", storeErrorIn("code", err)
		}
		return code, shown(a), nil
	}
	g, err := s.Generator(ctx, a.ID)
	if err != nil {
		return "", "", storeErrorIn("code", err)
	}
	return g.At(t), shown(a), nil
}

// copyCode puts code on the clipboard and starts the detached
// `latchkey clipboard-clear` that empties it later if it still holds the
// code.
func copyCode(ctx context.Context, e *env, code, label string) error {
	cenv := clipboard.Env{Getenv: e.getenv}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		cenv.Terminal = tty
	}
	m, err := clipboard.Copy(ctx, cenv, code)
	if err != nil {
		return fmt.Errorf("code: %w", err)
	}
	what := "the code"
	if label != "" {
		what = "the code for " + label
	}
	if m == clipboard.OSC52 {
		fmt.Fprintf(e.stderr, "latchkey: sent %s to your terminal's clipboard (OSC 52); clear it yourself after use\n", what)
		return nil
	}
	after := clearDelay(e)
	key, err := clipboard.NewKey()
	if err != nil {
		return fmt.Errorf("code: %w", err)
	}
	exe, err := os.Executable()
	if err == nil {
		err = clipboard.StartClearer(exe, []string{"clipboard-clear", "--after", after.String()}, key, clipboard.Fingerprint(key, code))
	}
	if err != nil {
		return fmt.Errorf("code: copied, but cannot schedule clearing the clipboard: %w", err)
	}
	fmt.Fprintf(e.stderr, "latchkey: copied %s (%s); cleared in %s if unchanged\n", what, m, after)
	return nil
}

// clearDelay is LATCHKEY_CLIPBOARD_CLEAR (seconds), else 30 s.
func clearDelay(e *env) time.Duration {
	if v := e.getenv("LATCHKEY_CLIPBOARD_CLEAR"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 3600 {
			return time.Duration(n) * time.Second
		}
	}
	return 30 * time.Second
}

func clipboardClearCommand() command {
	return command{
		name:     "clipboard-clear",
		graceful: true,
		usage:    "[--after DURATION] < TICKET",
		summary:  "(internal, started by code --copy) clear the clipboard if it still holds the copied code",
		run:      runClipboardClear,
		hidden:   true,
	}
}

func runClipboardClear(ctx context.Context, e *env, args []string) error {
	fs := newFlags(clipboardClearCommand(), e)
	after := fs.Duration("after", 30*time.Second, "how long to wait before clearing")
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) > 0 {
		return usageErrorf("clipboard-clear: takes no arguments")
	}
	line, err := readLine(e)
	if err != nil {
		return fmt.Errorf("clipboard-clear: %w", err)
	}
	key, sum, err := clipboard.ReadTicket(line)
	if err != nil {
		return err
	}
	timer := time.NewTimer(*after)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err = clipboard.ClearIfUnchanged(ctx, clipboard.Env{Getenv: e.getenv}, key, sum)
	return err
}

// parseTime reads unix seconds (optionally fractional) or RFC 3339.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "@")
	if sec, err := strconv.ParseInt(s, 10, 64); err == nil {
		if sec < 0 {
			return time.Time{}, errors.New("time before 1970")
		}
		return time.Unix(sec, 0), nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < 1e15 {
		return time.Unix(0, 0).Add(time.Duration(f * float64(time.Second))), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither unix seconds nor an RFC 3339 time like 2026-01-02T15:04:05Z", clip(s))
	}
	if t.Unix() < 0 {
		return time.Time{}, errors.New("time before 1970")
	}
	return t, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
