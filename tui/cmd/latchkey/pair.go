package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/store"
)

func pairCommand() command {
	return command{
		name:    "pair",
		usage:   "LINK [QUERY] [--store STORE]",
		summary: "pair an account with its server to approve sign-ins (a pairing link from the helpdesk)",
		run:     runPair,
	}
}

// runPair redeems a pairing link: the account (QUERY, else the one the
// link's credential names) proves it holds the secret with its current
// code, and a new device key is registered; the key stays in the store.
func runPair(ctx context.Context, e *env, args []string) error {
	fs := newFlags(pairCommand(), e)
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageErrorf("pair: give one pairing LINK, and the account's QUERY when the link does not name it")
	}
	if _, err := enroll.ParsePairingLink(pos[0]); err != nil {
		return exitWith(1, fmt.Errorf("pair: %w", err))
	}
	query := ""
	if len(pos) == 2 {
		query = pos[1]
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	acc, err := enroll.Pair(ctx, enroll.Client{}, pos[0], s, query, e.now())
	switch {
	case errors.Is(err, enroll.ErrNoAccount), errors.Is(err, enroll.ErrAmbiguous):
		return exitWith(1, fmt.Errorf("pair: %w (latchkey pair LINK QUERY)", err))
	case err != nil:
		return exitWith(1, fmt.Errorf("pair: %w", storeError(err)))
	}
	_, err = fmt.Fprintf(e.stdout, "paired %s with %s; it can now approve sign-ins (latchkey requests)\n", shown(acc), acc.Pairing.Server)
	return err
}

// unpairOnServer revokes a paired account's device key on its server
// before the account goes; an unreachable server is told on stderr and
// does not stop the removal (the helpdesk can revoke the device).
func unpairOnServer(ctx context.Context, e *env, s accounts, a store.Account) {
	if a.Pairing == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ds, err := enroll.Devices(ctx, enroll.Client{}, onlyAccount{s, a.ID}, e.now)
	if err == nil && len(ds) == 1 {
		err = ds[0].Unpair(ctx)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "latchkey: could not unpair %s on %s (%v); the helpdesk can revoke the device\n",
			shown(a), a.Pairing.Server, err)
	}
}

// onlyAccount lists one account of a store.
type onlyAccount struct {
	accounts
	id string
}

func (o onlyAccount) List(ctx context.Context) ([]store.Account, error) {
	a, err := o.accounts.Get(ctx, o.id)
	return []store.Account{a}, err
}
