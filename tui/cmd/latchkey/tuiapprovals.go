package main

import (
	"context"
	"errors"
	"log/slog"

	"latchkey/core/enroll"
	"latchkey/tui"
)

// tuiApprovals connects the UI's sign-in requests to core/enroll, as
// `latchkey requests --wait`, `approve` and `deny` do: the listener
// long-polls every paired account's server (backing off, and logging
// only, when offline) and answers go through AnswerRequest.
func tuiApprovals(e *env, logger *slog.Logger) tui.Approvals {
	keys := func(s tui.Store) (enroll.KeyStore, error) {
		ks, ok := s.(enroll.KeyStore)
		if !ok {
			return nil, errors.New("this store keeps no device keys")
		}
		return ks, nil
	}
	return tui.Approvals{
		Listen: func(ctx context.Context, s tui.Store, seen func([]enroll.Request)) {
			ks, err := keys(s)
			if err != nil {
				return
			}
			l := enroll.Listener{Devices: func(ctx context.Context) ([]enroll.Device, error) {
				return enroll.Devices(ctx, enroll.Client{}, ks, e.now)
			}}
			l.Run(ctx, seen, func(err error) { logger.Warn("sign-in requests", "err", err) })
		},
		Answer: func(ctx context.Context, s tui.Store, id string, approve bool) (string, error) {
			ks, err := keys(s)
			if err != nil {
				return "", err
			}
			ds, err := enroll.Devices(ctx, enroll.Client{}, ks, e.now)
			if err != nil {
				return "", err
			}
			_, status, err := enroll.AnswerRequest(ctx, ds, ks, id, approve)
			return status, err
		},
	}
}
