package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/store"
)

func enrollCommand() command {
	return command{
		name:     "enroll",
		graceful: true,
		usage:    "LINK | - [--force] [--store STORE]",
		summary:  "redeem a one-time enrollment link from a Latchkey server (no QR needed)",
		run:      runEnroll,
	}
}

// runEnroll redeems an enrollment link, stores the account and confirms
// its first code with the server, so the credential ends verified. The
// link is single-use: a second try, an expired or a wrong link gets one
// error that reveals nothing more.
func runEnroll(ctx context.Context, e *env, args []string) error {
	fs := newFlags(enrollCommand(), e)
	force := fs.Bool("force", false, "store it even if an account with the same issuer and name exists")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) != 1 {
		return usageErrorf("enroll: give one enrollment LINK (or - to read it from standard input)")
	}
	link := pos[0]
	if link == "-" {
		if link, err = readLine(e); err != nil {
			return fmt.Errorf("enroll: %w", err)
		}
	}
	// Check the link before asking for a vault passphrase.
	if _, err := enroll.ParseLink(link); err != nil {
		return exitWith(1, fmt.Errorf("enroll: %w", err))
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	hc := &http.Client{Timeout: 30 * time.Second}
	acc, err := enroll.Enroll(ctx, enroll.Client{HTTP: hc}, link, s, enroll.Options{Force: *force, Now: e.now})
	if errors.Is(err, enroll.ErrNotPaired) {
		fmt.Fprintf(e.stderr, "latchkey: enroll: %v\n", storeError(err))
		err = nil
	}
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return exitWith(1, errors.New("enroll: an account with this issuer and name already exists; the link is now used up, so ask for a new one and pass --force"))
	case err != nil:
		return exitWith(1, fmt.Errorf("enroll: %w", storeError(err)))
	}
	_, err = fmt.Fprintf(e.stdout, "enrolled %s (%s); the server confirmed its first code\n", shown(acc), acc.ID)
	if err == nil && acc.Pairing != nil {
		_, err = fmt.Fprintf(e.stdout, "paired: it approves sign-ins for %s (latchkey requests)\n", acc.Pairing.Server)
	}
	return err
}
