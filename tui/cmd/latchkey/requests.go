package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"latchkey/core/enroll"
	"latchkey/core/label"
	"latchkey/core/store"
)

func requestsCommand() command {
	return command{
		name:     "requests",
		graceful: true,
		usage:    "[--json] [--wait] [--timeout D] [--store STORE]",
		summary:  "list the pending sign-in requests of every paired account (--wait for the next one)",
		run:      runRequests,
	}
}

func approveCommand() command {
	return command{
		name:    "approve",
		usage:   "ID [--store STORE]",
		summary: "approve a pending sign-in request (ID or its first characters)",
		run:     func(ctx context.Context, e *env, args []string) error { return runAnswer(ctx, e, args, true) },
	}
}

func denyCommand() command {
	return command{
		name:    "deny",
		usage:   "ID [--store STORE]",
		summary: "deny a pending sign-in request (ID or its first characters)",
		run:     func(ctx context.Context, e *env, args []string) error { return runAnswer(ctx, e, args, false) },
	}
}

// requestItem is one request in `requests --json`.
type requestItem struct {
	ID             string `json:"id"`
	Account        string `json:"account"`
	Client         string `json:"client"`
	BindingMessage string `json:"binding_message"`
	ExpiresIn      int    `json:"expires_in"`
}

func devices(ctx context.Context, e *env, s accounts) ([]enroll.Device, map[string]store.Account, error) {
	ds, err := enroll.Devices(ctx, enroll.Client{}, s, e.now)
	if err != nil {
		return nil, nil, storeError(err)
	}
	accs := map[string]store.Account{}
	for _, d := range ds {
		accs[d.Account.ID] = d.Account
	}
	return ds, accs, nil
}

// runRequests lists pending requests; with --wait it waits (up to
// --timeout) until one arrives.
func runRequests(ctx context.Context, e *env, args []string) error {
	fs := newFlags(requestsCommand(), e)
	asJSON := fs.Bool("json", false, "print one JSON array of {id, account, client, binding_message, expires_in}")
	wait := fs.Bool("wait", false, "wait until a request arrives")
	timeout := fs.Duration("timeout", 5*time.Minute, "with --wait, how long to wait at most")
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) != 0 {
		return usageErrorf("requests: takes no arguments")
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	ds, accs, err := devices(ctx, e, s)
	if err != nil {
		return exitWith(1, fmt.Errorf("requests: %w", err))
	}
	if len(ds) == 0 {
		return exitWith(1, errors.New("requests: no account is paired with a server (latchkey enroll LINK, or latchkey pair LINK)"))
	}
	var w time.Duration
	if *wait {
		w = *timeout
	}
	rs, err := enroll.PendingRequests(ctx, ds, w)
	if err != nil {
		return exitWith(1, fmt.Errorf("requests: %w", err))
	}
	if *asJSON {
		items := make([]requestItem, 0, len(rs))
		for _, r := range rs {
			items = append(items, requestItem{ID: r.ID, Account: accs[r.Account].Label(), Client: r.ClientName,
				BindingMessage: r.BindingMessage, ExpiresIn: r.ExpiresIn})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	if len(rs) == 0 {
		_, err := fmt.Fprintln(e.stdout, "no pending sign-in requests")
		return err
	}
	for _, r := range rs {
		msg := r.BindingMessage
		if msg == "" {
			msg = "(no message)"
		}
		fmt.Fprintf(e.stdout, "%s  %s  %s  %q  expires in %ds\n", r.ID, label.Line(accs[r.Account].Label()), r.ClientName, msg, r.ExpiresIn)
	}
	return nil
}

// runAnswer approves or denies one request.
func runAnswer(ctx context.Context, e *env, args []string, approve bool) error {
	c := denyCommand()
	if approve {
		c = approveCommand()
	}
	fs := newFlags(c, e)
	which := storeFlag(fs)
	pos, err := fs.parse(args)
	if err != nil {
		return handleHelp(err)
	}
	if len(pos) != 1 || pos[0] == "" {
		return usageErrorf("%s: give one request ID (see latchkey requests)", c.name)
	}
	s, err := openAccounts(ctx, e, *which)
	if err != nil {
		return err
	}
	defer s.Close()
	ds, accs, err := devices(ctx, e, s)
	if err != nil {
		return exitWith(1, fmt.Errorf("%s: %w", c.name, err))
	}
	r, status, err := enroll.AnswerRequest(ctx, ds, s, pos[0], approve)
	if err != nil {
		return exitWith(1, fmt.Errorf("%s: %w", c.name, storeError(err)))
	}
	_, err = fmt.Fprintf(e.stdout, "%s sign-in to %s for %s (%q)\n", status, r.ClientName, label.Line(accs[r.Account].Label()), r.BindingMessage)
	return err
}
