package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"latchkey/core/label"
	"latchkey/core/otp"
	"latchkey/core/otpauth"
	"latchkey/core/store"
)

func addCommand() command {
	return command{
		name:    "add",
		usage:   "URI | - | --secret B32 --name N [--issuer I] [--algorithm A] [--digits D] [--period P] [--hotp --counter C] [--force] [--store STORE]",
		summary: "store an account from an otpauth URI or its parts (- reads standard input, off the process list)",
		run:     runAdd,
	}
}

func runAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(addCommand(), e)
	secret := fs.String("secret", "", "the base32 `SECRET` (\"-\" reads it from standard input)")
	name := fs.String("name", "", "the account `NAME`, e.g. an e-mail address")
	issuer := fs.String("issuer", "", "the `ISSUER`, e.g. GitHub")
	alg := fs.String("algorithm", "SHA1", "the HMAC `ALGORITHM`: SHA1, SHA256 or SHA512")
	digits := fs.Int("digits", 6, "code length, `6..8`")
	period := fs.Int("period", 30, "TOTP period in `SECONDS`")
	hotp := fs.Bool("hotp", false, "a counter-based (HOTP) account")
	counter := fs.Uint64("counter", 0, "with --hotp: the next `COUNTER` to use")
	force := fs.Bool("force", false, "store it even if the same issuer and name exist")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var acc store.Account
	var sec otp.Secret
	switch {
	case len(pos) == 1 && *secret == "":
		for _, f := range []string{"name", "issuer", "algorithm", "digits", "period", "hotp", "counter"} {
			if set[f] {
				return usageErrorf("add: --%s goes with --secret, not with a URI", f)
			}
		}
		uri := pos[0]
		if uri == "-" {
			if uri, err = readLine(e); err != nil {
				return fmt.Errorf("add: %w", err)
			}
		}
		k, err := otpauth.Parse(uri)
		if err != nil {
			return fmt.Errorf("add: %w", err)
		}
		// Refused before Parse's warnings, one of which says the same.
		if _, err := otp.CheckSecret(k.Secret); err != nil {
			return fmt.Errorf("add: %w", err)
		}
		for _, w := range k.Warnings {
			fmt.Fprintln(e.stderr, "latchkey: warning: "+label.Line(w))
		}
		acc = store.Account{Issuer: k.Issuer, Name: k.Account, Type: k.Type, Algorithm: k.Algorithm,
			Digits: k.Digits, Period: k.Period, Counter: k.Counter}
		sec = k.Secret
	case len(pos) == 0 && *secret != "":
		if *name == "" {
			return usageErrorf("add: --name is required with --secret")
		}
		if set["counter"] && !*hotp {
			return usageErrorf("add: --counter goes with --hotp")
		}
		b32 := *secret
		if b32 == "-" {
			if b32, err = readLine(e); err != nil {
				return fmt.Errorf("add: %w", err)
			}
		}
		if sec, err = otp.DecodeSecret(b32); err != nil {
			return fmt.Errorf("add: --secret: not valid base32")
		}
		a, err := otp.ParseAlgorithm(*alg)
		if err != nil {
			return usageErrorf("add: --algorithm: %q is not SHA1, SHA256 or SHA512", *alg)
		}
		acc = store.Account{Issuer: *issuer, Name: *name, Algorithm: a, Digits: *digits, Period: *period}
		if *hotp {
			acc.Type, acc.Counter = otp.HOTP, *counter
		}
	case len(pos) > 1:
		return usageErrorf("add: one URI at a time")
	default:
		return usageErrorf("add: give an otpauth URI, or --secret and --name")
	}
	defer sec.Wipe()
	// The one rule for short secrets, in the words every face uses.
	warn, err := otp.CheckSecret(sec)
	if err != nil {
		return fmt.Errorf("add: %w", err)
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	got, err := s.Add(ctx, acc, sec, *force)
	if errors.Is(err, store.ErrDuplicate) {
		return exitWith(1, fmt.Errorf("add: %s already exists; pass --force to add it anyway", shown(acc)))
	}
	if err != nil {
		return storeErrorIn("add", err)
	}
	if warn != "" {
		fmt.Fprintln(e.stderr, "latchkey: warning: "+warn)
	}
	_, err = fmt.Fprintf(e.stdout, "added %s (%s, %s)\n", shown(got), got.Type, got.ID)
	return err
}

// readLine reads one line of standard input, for secrets and URIs kept
// off the command line.
func readLine(e *env) (string, error) {
	// A URI, link or secret is one line; more than 64 KiB is not one.
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 64<<10)).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "" {
		if err == nil {
			err = errors.New("empty")
		}
		return "", fmt.Errorf("reading standard input: %w", err)
	}
	return line, nil
}
