package server

import (
	"context"
	"strconv"
	"time"
)

// pgVerifyFunction records a batch of checked verifications on
// PostgreSQL in one statement, so in one round trip. It takes the calls
// in order (sorted by user, each user's in their order), each seeing
// what the ones before it did; p_num holds each call's 6 numbers and
// p_text its 6 texts (see pgBatchArgs). A wrong code of a user who is
// unlocked, stays below the call's max failures and has the verified
// credentials the code was checked against (each id as its length in
// bytes, ':' and the id; see pgIDs) is counted by one UPDATE (which
// takes the row lock itself). Otherwise the call takes the user's state
// row (FOR UPDATE, making it at the user's first attempt), answers
// locked for a user locked at its time, stale when the user's verified
// credentials are not the ones checked; else it records the check: the
// compare-and-set of the matched credential's step (with the reset of
// failures and the audit row), a replay, or a failure, the one reaching
// max failures and each after it locking the user for the back-off's
// next step (the lock base doubled per lockout up to the lock max, in
// nanoseconds after the call's time; Lockout.duration). It returns one
// row per call, in order: the outcome as Attempt numbers it (0 accepted,
// 1 replayed, 2 failed, 3 locked; 4 stale) and the user's state after
// it.
const pgVerifyFunction = `
CREATE OR REPLACE FUNCTION latchkey_verify_calls(p_num BIGINT[], p_text TEXT[])
RETURNS TABLE (o_outcome INTEGER, o_failures INTEGER, o_locked_until BIGINT, o_lockouts INTEGER)
LANGUAGE plpgsql AS $$
DECLARE
	v_n INTEGER := cardinality(p_text) / 6;
	v_i INTEGER;
	v_now BIGINT;
	v_step BIGINT;
	v_max INTEGER;
	v_user TEXT;
	v_ids TEXT;
	v_cred TEXT;
	v_d BIGINT;
	v_k INTEGER;
BEGIN
	FOR v_i IN 0..v_n - 1 LOOP
		v_now := p_num[v_i * 6 + 1];
		v_step := p_num[v_i * 6 + 3];
		v_max := p_num[v_i * 6 + 4];
		v_user := p_text[v_i * 6 + 1];
		v_ids := p_text[v_i * 6 + 2];
		v_cred := p_text[v_i * 6 + 3];
		-- Most wrong codes: one UPDATE, which takes the row lock itself.
		IF v_cred = '' THEN
			UPDATE user_state s SET failures = s.failures + 1
				WHERE s.user_id = v_user AND s.locked_until <= v_now AND s.failures + 1 < v_max
				AND array_to_string(ARRAY(SELECT octet_length(c.id) || ':' || c.id FROM credentials c
					WHERE c.user_id = v_user AND c.verified = 1 ORDER BY c.created, c.id), '') = v_ids
				RETURNING s.failures, s.locked_until, s.lockouts INTO o_failures, o_locked_until, o_lockouts;
			IF FOUND THEN
				o_outcome := 2;
				RETURN NEXT;
				CONTINUE;
			END IF;
		END IF;
		SELECT s.failures, s.locked_until, s.lockouts INTO o_failures, o_locked_until, o_lockouts
			FROM user_state s WHERE s.user_id = v_user FOR UPDATE;
		IF NOT FOUND THEN
			INSERT INTO user_state AS s (user_id, failures, locked_until, lockouts) VALUES (v_user, 0, 0, 0)
				ON CONFLICT (user_id) DO UPDATE SET failures = s.failures
				RETURNING s.failures, s.locked_until, s.lockouts INTO o_failures, o_locked_until, o_lockouts;
		END IF;
		IF o_locked_until > v_now THEN
			o_outcome := 3;
		ELSIF array_to_string(ARRAY(SELECT octet_length(c.id) || ':' || c.id FROM credentials c
				WHERE c.user_id = v_user AND c.verified = 1 ORDER BY c.created, c.id), '') <> v_ids THEN
			o_outcome := 4;
		ELSIF v_cred <> '' THEN
			UPDATE credentials c SET last_step = v_step, last_used = v_now
				WHERE c.id = v_cred AND c.user_id = v_user AND c.verified = 1 AND c.last_step < v_step;
			IF FOUND THEN
				IF o_failures > 0 OR o_lockouts > 0 THEN
					UPDATE user_state s SET failures = 0, lockouts = 0 WHERE s.user_id = v_user;
				END IF;
				INSERT INTO audit (at, user_id, credential_id, client, action, outcome)
					VALUES (v_now, v_user, v_cred, p_text[v_i * 6 + 4], p_text[v_i * 6 + 5], p_text[v_i * 6 + 6]);
				o_outcome := 0;
				o_failures := 0;
				o_lockouts := 0;
			ELSE
				o_outcome := 1;
			END IF;
		ELSE
			o_failures := o_failures + 1;
			IF o_failures >= v_max THEN
				o_lockouts := o_lockouts + 1;
				v_d := p_num[v_i * 6 + 5];
				v_k := 1;
				WHILE v_k < o_lockouts AND v_d < p_num[v_i * 6 + 6] LOOP
					v_d := CASE WHEN v_d > p_num[v_i * 6 + 6] / 2 THEN p_num[v_i * 6 + 6] ELSE v_d * 2 END;
					v_k := v_k + 1;
				END LOOP;
				v_d := p_num[v_i * 6 + 2] + LEAST(v_d, p_num[v_i * 6 + 6]);
				o_locked_until := v_now + v_d / 1000000 - (v_d % 1000000 < 0)::INTEGER;
			END IF;
			UPDATE user_state s SET failures = o_failures, locked_until = o_locked_until, lockouts = o_lockouts
				WHERE s.user_id = v_user;
			o_outcome := 2;
		END IF;
		RETURN NEXT;
	END LOOP;
END
$$`

const pgVerifyCalls = `SELECT o_outcome, o_failures, o_locked_until, o_lockouts FROM latchkey_verify_calls($1, $2)`

// pgIDs encodes credential ids as latchkey_verify_calls compares them:
// each as its length in bytes, ':' and the id, so that no two lists
// encode alike.
func pgIDs(ids []string) string {
	n := 0
	for _, id := range ids {
		n += len(id) + 4
	}
	b := make([]byte, 0, n)
	for _, id := range ids {
		b = strconv.AppendInt(b, int64(len(id)), 10)
		b = append(b, ':')
		b = append(b, id...)
	}
	return string(b)
}

// attemptStale is latchkey_verify_calls' answer for credentials that
// changed.
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
	Record(ctx context.Context, user string, now time.Time, l Lockout, c Check) (AttemptResult, error)
}

// Record is checkedRecorder's: on PostgreSQL a call of
// latchkey_verify_calls with the other verifications of the moment, one
// statement, one round trip and one transaction (see pgBatcher); on
// SQLite Attempt.
func (s *sqlStore) Record(ctx context.Context, user string, now time.Time, l Lockout, c Check) (AttemptResult, error) {
	if !s.pipeline { // SQLite: its writer takes no round trip
		return s.sqliteRecord(ctx, user, now, l, c)
	}
	v, err := s.batcher.verify(ctx, &pgCall{user: user, now: now, l: l, ids: pgIDs(c.Credentials),
		cred: c.Credential, step: c.Step, ev: c.Event})
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
