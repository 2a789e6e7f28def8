package server

import (
	"context"
	"time"
)

// pgVerifyFunction is a verification on PostgreSQL in one statement, so
// in one round trip. A wrong code of a user who is unlocked, stays below
// p_max_failures and has the credentials p_ids is counted by one UPDATE
// (which takes the row lock itself). Otherwise it takes the user's state
// row (FOR UPDATE, making it at the user's first attempt), refuses a
// user locked at p_now, and
// answers stale when the user's verified credentials are not p_ids, the
// ones the code was checked against; else it records the check: the
// compare-and-set of p_cred's step (with the reset of failures and the
// audit row), a replay, or a failure, the one reaching p_max_failures
// and each after it locking the user until p_lock_ends[lockouts] (the
// last element for any lockout past the array). It returns the outcome
// as Attempt numbers it (0 accepted, 1 replayed, 2 failed, 3 locked; 4
// stale) and the user's state after it.
const pgVerifyFunction = `
CREATE OR REPLACE FUNCTION latchkey_verify(p_user TEXT, p_now BIGINT, p_ids TEXT[], p_cred TEXT, p_step BIGINT,
	p_max_failures INTEGER, p_lock_ends BIGINT[], p_client TEXT, p_action TEXT, p_outcome TEXT,
	OUT o_outcome INTEGER, OUT o_failures INTEGER, OUT o_locked_until BIGINT, OUT o_lockouts INTEGER)
LANGUAGE plpgsql AS $$
BEGIN
	-- Most wrong codes: one UPDATE, which takes the row lock itself.
	IF p_cred = '' THEN
		UPDATE user_state s SET failures = s.failures + 1
			WHERE s.user_id = p_user AND s.locked_until <= p_now AND s.failures + 1 < p_max_failures
			AND ARRAY(SELECT c.id FROM credentials c WHERE c.user_id = p_user AND c.verified = 1 ORDER BY c.created, c.id)
				IS NOT DISTINCT FROM p_ids
			RETURNING s.failures, s.locked_until, s.lockouts INTO o_failures, o_locked_until, o_lockouts;
		IF FOUND THEN
			o_outcome := 2;
			RETURN;
		END IF;
	END IF;
	SELECT s.failures, s.locked_until, s.lockouts INTO o_failures, o_locked_until, o_lockouts
		FROM user_state s WHERE s.user_id = p_user FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO user_state AS s (user_id, failures, locked_until, lockouts) VALUES (p_user, 0, 0, 0)
			ON CONFLICT (user_id) DO UPDATE SET failures = s.failures
			RETURNING s.failures, s.locked_until, s.lockouts INTO o_failures, o_locked_until, o_lockouts;
	END IF;
	IF o_locked_until > p_now THEN
		o_outcome := 3;
		RETURN;
	END IF;
	IF ARRAY(SELECT c.id FROM credentials c WHERE c.user_id = p_user AND c.verified = 1 ORDER BY c.created, c.id)
		IS DISTINCT FROM p_ids THEN
		o_outcome := 4;
		RETURN;
	END IF;
	IF p_cred <> '' THEN
		UPDATE credentials c SET last_step = p_step, last_used = p_now
			WHERE c.id = p_cred AND c.user_id = p_user AND c.verified = 1 AND c.last_step < p_step;
		IF NOT FOUND THEN
			o_outcome := 1;
			RETURN;
		END IF;
		IF o_failures > 0 OR o_lockouts > 0 THEN
			UPDATE user_state s SET failures = 0, lockouts = 0 WHERE s.user_id = p_user;
		END IF;
		INSERT INTO audit (at, user_id, credential_id, client, action, outcome)
			VALUES (p_now, p_user, p_cred, p_client, p_action, p_outcome);
		o_outcome := 0;
		o_failures := 0;
		o_lockouts := 0;
		RETURN;
	END IF;
	o_failures := o_failures + 1;
	IF o_failures >= p_max_failures THEN
		o_lockouts := o_lockouts + 1;
		o_locked_until := p_lock_ends[LEAST(o_lockouts, cardinality(p_lock_ends))];
	END IF;
	UPDATE user_state s SET failures = o_failures, locked_until = o_locked_until, lockouts = o_lockouts
		WHERE s.user_id = p_user;
	o_outcome := 2;
END
$$`

const pgVerify = `SELECT o_outcome, o_failures, o_locked_until, o_lockouts
	FROM latchkey_verify($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`

// attemptStale is pgVerify's answer for credentials that changed.
const attemptStale = 4

// checkedRecorder is a Store that records a code checked before the
// user's lock was taken (see Record), in fewer round trips than Attempt.
type checkedRecorder interface {
	// Record is Attempt for a check already made (c): with the user's
	// state locked, it refuses a user locked at now, recording nothing
	// of c (the code was checked, but no answer tells how it went), and
	// answers ErrStale when the user's verified credentials are not
	// c.Credentials; else it records c as Attempt records check's result.
	// So the burst rule holds as with Attempt: of concurrent wrong codes,
	// at most l.MaxFailures are answered as failures before the lock.
	//
	// A store that sets AttemptResult.Audited wrote c.Event in the same
	// transaction, whatever the outcome (but ErrStale), its Outcome
	// naming what happened: as given (valid) when accepted,
	// OutcomeReplayed, OutcomeInvalid when failed, OutcomeLocked (no
	// credential) when locked. Otherwise the caller queues the record.
	Record(ctx context.Context, user string, now time.Time, l Lockout, c Check) (AttemptResult, error)
}

// Record is checkedRecorder's: on PostgreSQL one statement,
// latchkey_verify, sent with the other verifications of the moment in
// one round trip and one transaction (see pgBatcher); on SQLite Attempt.
func (s *sqlStore) Record(ctx context.Context, user string, now time.Time, l Lockout, c Check) (AttemptResult, error) {
	if !s.pipeline { // SQLite: its writer takes no round trip
		return s.Attempt(ctx, user, now, l, func() (Check, error) { return c, nil })
	}
	ev := c.Event
	v, err := s.batcher.verify(ctx, user, ms(now), c.Credentials, c.Credential, c.Step,
		l.MaxFailures, lockEnds(now, l), ev.Client, ev.Action, ev.Outcome)
	if err != nil {
		return AttemptResult{}, s.errorf("verify", err)
	}
	r := AttemptResult{Outcome: v.outcome, State: UserState{Failures: v.failures, LockedUntil: fromMS(v.lockedUntil), Lockouts: v.lockouts}}
	switch r.Outcome {
	case attemptStale:
		s.invalidate(user)
		return AttemptResult{}, ErrStale
	case AttemptAccepted:
		s.invalidate(user)
	case AttemptFailed:
		r.NewLock = r.State.Failures >= l.MaxFailures
		s.cache.setState(user, r.State)
	case AttemptLocked:
		s.cache.setState(user, r.State)
	}
	return r, nil
}

// lockEnds lists when each consecutive lock from now would end, in the
// store's milliseconds: the first, the second... up to the first that
// lasts l.Max, which every later lock lasts too.
func lockEnds(now time.Time, l Lockout) []int64 {
	var ends []int64
	for n := 1; ; n++ {
		d := l.duration(n)
		ends = append(ends, ms(now.Add(d)))
		if d >= l.Max || n >= 64 {
			return ends
		}
	}
}
