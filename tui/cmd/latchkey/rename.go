package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"latchkey/core/store"
)

func renameCommand() command {
	return command{
		name:    "rename",
		usage:   "QUERY NEW [--store STORE]",
		summary: "rename an account (NEW is a name, or issuer:name)",
		run:     runRename,
	}
}

func runRename(ctx context.Context, e *env, args []string) error {
	fs := newFlags(renameCommand(), e)
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) != 2 {
		return usageErrorf("rename: give QUERY and NEW")
	}
	issuer, name, hasIssuer := strings.Cut(pos[1], ":")
	if !hasIssuer {
		name = issuer
	}
	if strings.TrimSpace(name) == "" {
		return usageErrorf("rename: the new name is empty")
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	a, err := findOne(ctx, s, "rename", pos[0])
	if err != nil {
		return err
	}
	got, err := s.Update(ctx, a.ID, func(x *store.Account) error {
		if hasIssuer {
			x.Issuer = issuer
		}
		x.Name = name
		return nil
	})
	if errors.Is(err, store.ErrDuplicate) {
		return exitWith(1, fmt.Errorf("rename: another account is already called %s", pos[1]))
	}
	if err != nil {
		return storeErrorIn("rename", err)
	}
	_, err = fmt.Fprintf(e.stdout, "renamed %s to %s\n", shown(a), shown(got))
	return err
}
