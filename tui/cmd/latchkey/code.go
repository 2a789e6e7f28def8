package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"latchkey/core/otp"
	"latchkey/core/otpauth"
)

func codeCommand() command {
	return command{
		name:    "code",
		usage:   "--uri URI [--at TIME]",
		summary: "print the current code of an otpauth URI",
		run:     runCode,
	}
}

func runCode(ctx context.Context, e *env, args []string) error {
	fs := newFlags(codeCommand(), e)
	uri := fs.String("uri", "", "compute the code of this otpauth:// `URI` (stateless; nothing is stored)")
	at := fs.String("at", "", "the `TIME` to compute the code at: unix seconds or RFC 3339 (default now)")
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if *uri == "" {
		return usageErrorf("code: --uri URI is required")
	}
	if len(pos) > 0 {
		return usageErrorf("code: unexpected argument %q with --uri", pos[0])
	}
	t := e.now()
	if *at != "" {
		if t, err = parseTime(*at); err != nil {
			return fmt.Errorf("code: --at: %w", err)
		}
	}
	k, err := otpauth.Parse(*uri)
	if err != nil {
		return fmt.Errorf("code: %w", err)
	}
	for _, w := range k.Warnings {
		fmt.Fprintln(e.stderr, "latchkey: warning: "+w)
	}
	g, err := k.Generator()
	if err != nil {
		return fmt.Errorf("code: %w", err)
	}
	var code string
	if k.Type == otp.HOTP {
		code = g.Code(k.Counter)
	} else {
		code = g.At(t)
	}
	_, err = fmt.Fprintln(e.stdout, code)
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
