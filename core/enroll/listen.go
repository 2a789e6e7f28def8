package enroll

import (
	"context"
	"time"
)

// Listener keeps the pending sign-in requests of every paired account in
// view for a UI that stays open (the desktop app, the terminal UI): the
// long-poll of `latchkey requests --wait`, repeated, with back-off when
// the server cannot be reached. Its zero durations take the defaults
// documented beside them.
type Listener struct {
	// Devices returns the paired accounts to listen for (Devices over
	// the UI's store). It is called before each poll, so that accounts
	// paired or unpaired meanwhile are picked up. Required.
	Devices func(ctx context.Context) ([]Device, error)
	// Wait is how long one long-poll waits for the pending requests to
	// change (a new one, one answered elsewhere or expired); 0 means
	// 25 s.
	Wait time.Duration
	// MaxBackoff caps the pause after failed polls, which starts at 1 s
	// and doubles; 0 means 1 min.
	MaxBackoff time.Duration
}

func (l Listener) defaults() Listener {
	if l.Wait <= 0 {
		l.Wait = 25 * time.Second
	}
	if l.MaxBackoff <= 0 {
		l.MaxBackoff = time.Minute
	}
	return l
}

// Run polls until ctx ends. It calls seen with the pending requests
// (cleaned for display, as Requests does) after the first poll and then
// each time the set of request ids changes; each poll tells the server
// what was seen, so that it answers only when that changes
// (ChangedRequests). A failed poll (offline, the server down, a locked
// vault) goes to failed, when set, and is retried after the back-off;
// seen is not called for it, so what the UI shows stays until the server
// answers again.
func (l Listener) Run(ctx context.Context, seen func([]Request), failed func(error)) {
	l = l.defaults()
	var last []Request
	first := true
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		rs, err := l.poll(ctx, last)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if failed != nil {
				failed(err)
			}
			backoff = min(max(2*backoff, time.Second), l.MaxBackoff)
			sleep(ctx, backoff)
			continue
		}
		backoff = 0
		if first || !sameRequests(rs, last) {
			first = false
			seen(rs)
		}
		last = rs
	}
}

// poll is one round: it returns when the pending requests differ from
// last, or after Wait.
func (l Listener) poll(ctx context.Context, last []Request) ([]Request, error) {
	ds, err := l.Devices(ctx)
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		// Nothing paired yet: look again later.
		sleep(ctx, l.Wait)
		return nil, nil
	}
	return ChangedRequests(ctx, ds, last, l.Wait)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
