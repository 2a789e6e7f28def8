package main

import (
	"context"
	"fmt"

	"latchkey/core/otpauth"
	"latchkey/core/qr"
	"latchkey/core/transfer"
)

func qrCommand() command {
	return command{
		name:    "qr",
		usage:   "QUERY [-o FILE.png] [--size PIXELS] [--yes] [--store STORE]",
		summary: "show an account as a QR code to scan with a phone (terminal or PNG)",
		run:     runQR,
	}
}

func runQR(ctx context.Context, e *env, args []string) error {
	fs := newFlags(qrCommand(), e)
	out := fs.String("o", "", "write a PNG image to `FILE.png` (created 0600) instead of drawing on the terminal")
	size := fs.Int("size", 384, "with -o: the image size in `PIXELS`")
	yes := fs.Bool("yes", false, "do not ask before showing the secret")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) != 1 {
		return usageErrorf("qr: name one account (QUERY)")
	}
	if *size < 64 || *size > 4096 {
		return usageErrorf("qr: --size must be 64 to 4096 pixels")
	}
	if _, ok := terminalIn(e); !ok && !*yes {
		return fmt.Errorf("qr: %w", errNeedYes)
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := findOne(ctx, s, "qr", pos[0])
	if err != nil {
		return err
	}
	what := "draws the secret of " + shown(a) + " on the screen"
	if *out != "" {
		what = "writes the secret of " + shown(a) + " to " + *out
	}
	ok, err := confirmPlain(e, *yes, fmt.Sprintf("This %s; anyone who sees it can make your codes. Continue?", what))
	if err != nil {
		return fmt.Errorf("qr: %w", err)
	}
	if !ok {
		return exitWith(1, fmt.Errorf("qr: cancelled"))
	}
	sec, err := s.Secret(ctx, a.ID)
	if err != nil {
		return fmt.Errorf("qr: %w", storeError(err))
	}
	k := otpauth.Key{Type: a.Type, Issuer: a.Issuer, Account: a.Name, Secret: sec, Algorithm: a.Algorithm,
		Digits: a.Digits, Period: a.Period, Counter: a.Counter}
	uri := k.String()
	if *out != "" {
		png, err := qr.PNG(uri, *size)
		if err != nil {
			return fmt.Errorf("qr: %w", err)
		}
		if err := transfer.WriteFile(*out, png); err != nil {
			return fmt.Errorf("qr: %w", err)
		}
		fmt.Fprintf(e.stderr, "latchkey: wrote %s\n", *out)
		return nil
	}
	art, err := qr.Terminal(uri)
	if err != nil {
		return fmt.Errorf("qr: %w", err)
	}
	fmt.Fprintf(e.stdout, "%s\n%s\n", art, shown(a))
	return nil
}
