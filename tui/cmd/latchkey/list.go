package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"

	"latchkey/core/otp"
	"latchkey/core/store"
)

func listCommand() command {
	return command{
		name:    "list",
		usage:   "[--json] [--store STORE]",
		summary: "list the accounts with their current codes",
		run:     runList,
	}
}

// listItem is one account in `list --json`. HOTP accounts carry no code:
// showing one would use up a counter.
type listItem struct {
	ID        string   `json:"id"`
	Issuer    string   `json:"issuer"`
	Name      string   `json:"name"`
	Type      otp.Type `json:"type"`
	Algorithm string   `json:"algorithm"`
	Digits    int      `json:"digits"`
	Period    int      `json:"period,omitempty"`
	Counter   *uint64  `json:"counter,omitempty"`
	Tags      []string `json:"tags,omitempty"`
	Code      string   `json:"code,omitempty"`
	Remaining *int     `json:"remaining,omitempty"` // seconds the code stays valid
	Error     string   `json:"error,omitempty"`     // why there is no code (a secret missing from the keyring)
}

func runList(ctx context.Context, e *env, args []string) error {
	fs := newFlags(listCommand(), e)
	asJSON := fs.Bool("json", false, "print a JSON array (id, issuer, name, type, code, remaining, ...)")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) > 0 {
		return usageErrorf("list: takes no arguments")
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	as, err := s.List(ctx)
	if err != nil {
		return storeError(err)
	}
	var secrets map[string]otp.Secret
	var missing *store.MissingError
	for _, a := range as {
		if a.Type.TimeBased() {
			secrets, err = s.Secrets(ctx)
			if errors.As(err, &missing) {
				if err := reportMissing(ctx, e, s, "no code for", missing); err != nil {
					return err
				}
			} else if err != nil {
				return storeError(err)
			}
			break
		}
	}
	now := e.now()
	items := make([]listItem, 0, len(as))
	for _, a := range as {
		it := listItem{ID: a.ID, Issuer: a.Issuer, Name: a.Name, Type: a.Type, Algorithm: a.Algorithm.String(),
			Digits: a.Digits, Tags: a.Tags}
		if a.Type == otp.HOTP {
			c := a.Counter
			it.Counter = &c
		} else if missing != nil && slices.Contains(missing.IDs, a.ID) {
			it.Period = a.Period
			it.Error = "the keyring has no secret for this account"
		} else {
			it.Period = a.Period
			g, err := otp.NewGenerator(secrets[a.ID], a.Options())
			if err != nil {
				return fmt.Errorf("list: %s: %w", shown(a), err)
			}
			it.Code = g.At(now)
			r := int((otp.Remaining(now, a.Period) + 999_999_999) / 1_000_000_000)
			it.Remaining = &r
		}
		items = append(items, it)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stderr, "latchkey: no accounts yet; add one with 'latchkey add URI'")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	for i, it := range items {
		row := shown(as[i])
		if it.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t(%s)\n", row, "--- ---", it.Error)
			continue
		}
		if it.Code == "" {
			fmt.Fprintf(tw, "%s\t%s\t(hotp: 'latchkey code' shows the next)\n", row, "--- ---")
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%ds\n", row, otp.Group(it.Code), *it.Remaining)
	}
	return tw.Flush()
}
