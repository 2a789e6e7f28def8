package server

import (
	"context"
	"time"
)

// sqliteAttempt is Attempt on SQLite: the group writer applies it in
// its batch (see groupWriter.try).
func (s *sqlStore) sqliteAttempt(ctx context.Context, user string, now time.Time, l Lockout, check func() (Check, error)) (AttemptResult, error) {
	return s.try(ctx, &tryReq{user: user, now: now, l: l, check: check})
}

// sqliteRecord is Record on SQLite: Attempt for a code checked already.
// SQLite never answers ErrStale: the store's cache holds the credentials
// as the database does. A refusal's audit record is left to the caller
// (the server's auditor, which writes them in batches every 50 ms):
// written in the attempt's batch, each record dirties a page of the
// audit log's index of its own in that batch's commit, which measured
// about a third more CPU a wrong code under load (105 against 80 µs).
func (s *sqlStore) sqliteRecord(ctx context.Context, user string, now time.Time, l Lockout, c Check) (AttemptResult, error) {
	return s.try(ctx, &tryReq{user: user, now: now, l: l, check: func() (Check, error) { return c, nil }})
}

func (s *sqlStore) try(ctx context.Context, t *tryReq) (AttemptResult, error) {
	err := s.writer.send(&writeReq{ctx: ctx, try: t, after: func() {
		// A failure changed the user's state alone: the cache keeps
		// the user's credentials and takes the new state, so a wrong
		// code does not cost the next request a read.
		switch t.r.Outcome {
		case AttemptAccepted:
			s.invalidate(t.user)
		case AttemptFailed, AttemptLocked:
			s.cache.setState(t.user, t.r.State)
		}
	}})
	if err != nil {
		return AttemptResult{}, s.errorf("attempt", err)
	}
	return t.r, nil
}

// try applies an attempt in the writer's batch: with the user's state as
// the batch's writes before it left it, it refuses a locked user, else
// records the check: a matched step by compare-and-set (failures reset,
// the Event audited), a replay, or a failure (which may lock).
func (w *groupWriter) try(ctx context.Context, t *tryReq) error {
	t.r = AttemptResult{}
	cur, err := w.state(ctx, t.user)
	if err != nil {
		return err
	}
	st := cur.st
	r := AttemptResult{State: st}
	if st.LockedUntil.After(t.now) {
		r.Outcome = AttemptLocked
		t.r = r
		return nil
	}
	c, err := t.check()
	if err != nil {
		return err
	}
	if c.Credential != "" {
		upd := w.ps.accept
		if c.Confirm {
			upd = w.ps.confirm
		}
		res, err := w.b.stmt(ctx, upd).ExecContext(ctx, c.Step, ms(t.now), c.Credential, t.user)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			if st.Failures > 0 || st.Lockouts > 0 {
				st.Failures, st.Lockouts = 0, 0
				w.setState(t.user, cur, st)
			}
			w.b.events = append(w.b.events, c.Event)
			r.Outcome, r.State = AttemptAccepted, st
			t.r = r
			return nil
		}
		if !c.Confirm {
			r.Outcome = AttemptReplayed
			t.r = r
			return nil
		}
	}
	r.Outcome = AttemptFailed
	r.State, r.NewLock = t.l.fail(st, t.now)
	w.setState(t.user, cur, r.State)
	t.r = r
	return nil
}
