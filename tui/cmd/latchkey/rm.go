package main

import (
	"context"
	"fmt"
)

func rmCommand() command {
	return command{
		name:    "rm",
		usage:   "QUERY [--yes] [--store STORE]",
		summary: "remove an account and its secret (asks on a terminal; --yes for scripts)",
		run:     runRm,
	}
}

func runRm(ctx context.Context, e *env, args []string) error {
	fs := newFlags(rmCommand(), e)
	yes := fs.Bool("yes", false, "do not ask (needed when standard input is not a terminal)")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) != 1 {
		return usageErrorf("rm: give one QUERY (issuer, name, issuer:name or id)")
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := findOne(ctx, s, "rm", pos[0])
	if err != nil {
		return err
	}
	if !*yes {
		if _, tty := terminalIn(e); !tty {
			return usageErrorf("rm: not removing %s without confirmation: run it on a terminal or pass --yes", shown(a))
		}
		ok, err := confirm(e.stdin, e.stderr, fmt.Sprintf("Remove %s and its secret? This cannot be undone.", shown(a)))
		if err != nil || !ok {
			return exitWith(1, fmt.Errorf("rm: %s kept", shown(a)))
		}
	}
	unpairOnServer(ctx, e, s, a)
	if err := s.Delete(ctx, a.ID); err != nil {
		return storeErrorIn("rm", err)
	}
	_, err = fmt.Fprintf(e.stdout, "removed %s\n", shown(a))
	return err
}
