package server

import (
	"context"
	"strconv"
	"time"
)

// pgVerifyFunction records a batch of checked verifications on
// PostgreSQL in one statement, so in one round trip and one transaction.
// p_users are the batch's users, each once, in the order the caller
// sorted them; the other arrays have one element per call, in the
// batch's order (its calls of one user together, in their order), p_who
// naming the call's user by its place in p_users.
//
// It makes a state row for each user without one, then locks the users'
// rows in p_users' order (two instances' batches never wait on each
// other in a cycle), then reads their verified credentials, then takes
// the calls in order, each seeing what the ones before it did: a user
// locked at the call's p_now is answered locked; a user whose verified
// credentials are not p_ids (each id as its length in bytes, ':' and the
// id, see pgIDs) is answered stale; else a matched credential's step is
// moved by compare-and-set (accepted, resetting the failures and the
// back-off, or replayed), or the failure is counted, the one reaching
// p_max and each after it locking the user for the back-off's next step
// (p_base doubled per lockout up to p_lmax, in nanoseconds after the
// call's time, p_now milliseconds and p_sub nanoseconds). At the end it
// writes the users' changed state and, for every call but a stale one,
// the call's audit record (p_at... p_outcome), its outcome naming what
// happened. It returns one row per call, in order: the outcome as
// Attempt numbers it (0 accepted, 1 replayed, 2 failed, 3 locked; 4
// stale) and the user's state after it.
const pgVerifyFunction = `
CREATE OR REPLACE FUNCTION latchkey_verify_batch(p_users TEXT[], p_who INTEGER[], p_now BIGINT[], p_sub BIGINT[],
	p_ids TEXT[], p_cred TEXT[], p_step BIGINT[], p_max INTEGER[], p_base BIGINT[], p_lmax BIGINT[],
	p_at BIGINT[], p_ev_user TEXT[], p_ev_cred TEXT[], p_client TEXT[], p_action TEXT[], p_outcome TEXT[])
RETURNS TABLE (o_outcome INTEGER, o_failures INTEGER, o_locked_until BIGINT, o_lockouts INTEGER)
LANGUAGE plpgsql AS $$
DECLARE
	v_n INTEGER := cardinality(p_who);
	v_m INTEGER := cardinality(p_users);
	v_found INTEGER;
	-- Per user: state, verified credentials, whether the state changed.
	v_failures INTEGER[];
	v_until BIGINT[];
	v_lockouts INTEGER[];
	v_ids TEXT[];
	v_dirty BOOLEAN[] := array_fill(false, ARRAY[v_m]);
	-- Per call: the audit record's credential and outcome (NULL: no
	-- record).
	v_cred TEXT[] := array_fill(NULL::TEXT, ARRAY[v_n]);
	v_audit TEXT[] := array_fill(NULL::TEXT, ARRAY[v_n]);
	v_i INTEGER;
	v_u INTEGER;
	v_d BIGINT;
	v_k INTEGER;
BEGIN
	INSERT INTO user_state (user_id, failures, locked_until, lockouts)
		SELECT x.id, 0, 0, 0 FROM unnest(p_users) WITH ORDINALITY x(id, pos) ORDER BY x.pos
		ON CONFLICT (user_id) DO NOTHING;
	SELECT array_agg(q.failures ORDER BY q.pos), array_agg(q.locked_until ORDER BY q.pos),
			array_agg(q.lockouts ORDER BY q.pos), count(*)
		INTO v_failures, v_until, v_lockouts, v_found
		FROM (SELECT x.pos, s.failures, s.locked_until, s.lockouts
			FROM unnest(p_users) WITH ORDINALITY x(id, pos) JOIN user_state s ON s.user_id = x.id
			ORDER BY x.pos FOR UPDATE OF s) q;
	IF v_found <> v_m THEN -- a row deleted since the INSERT: the caller sends the calls again
		RAISE EXCEPTION 'latchkey_verify_batch: user state rows changed';
	END IF;
	SELECT array_agg(coalesce(q.ids, '') ORDER BY q.pos) INTO v_ids
		FROM (SELECT x.pos, (SELECT string_agg(octet_length(c.id) || ':' || c.id, '' ORDER BY c.created, c.id)
				FROM credentials c WHERE c.user_id = x.id AND c.verified = 1) AS ids
			FROM unnest(p_users) WITH ORDINALITY x(id, pos)) q;
	FOR v_i IN 1..v_n LOOP
		v_u := p_who[v_i];
		IF v_until[v_u] > p_now[v_i] THEN
			o_outcome := 3;
			v_cred[v_i] := '';
			v_audit[v_i] := '` + OutcomeLocked + `';
		ELSIF v_ids[v_u] <> p_ids[v_i] THEN
			o_outcome := 4;
		ELSIF p_cred[v_i] <> '' THEN
			UPDATE credentials c SET last_step = p_step[v_i], last_used = p_now[v_i]
				WHERE c.id = p_cred[v_i] AND c.user_id = p_users[v_u] AND c.verified = 1 AND c.last_step < p_step[v_i];
			v_cred[v_i] := p_ev_cred[v_i];
			IF FOUND THEN
				IF v_failures[v_u] > 0 OR v_lockouts[v_u] > 0 THEN
					v_failures[v_u] := 0;
					v_lockouts[v_u] := 0;
					v_dirty[v_u] := true;
				END IF;
				o_outcome := 0;
				v_audit[v_i] := p_outcome[v_i];
			ELSE
				o_outcome := 1;
				v_audit[v_i] := '` + OutcomeReplayed + `';
			END IF;
		ELSE
			v_failures[v_u] := v_failures[v_u] + 1;
			IF v_failures[v_u] >= p_max[v_i] THEN
				-- The back-off's next lock: p_base doubled per earlier
				-- lockout, up to p_lmax (Lockout.duration).
				v_lockouts[v_u] := v_lockouts[v_u] + 1;
				v_d := p_base[v_i];
				v_k := 1;
				WHILE v_k < v_lockouts[v_u] AND v_d < p_lmax[v_i] LOOP
					v_d := CASE WHEN v_d > p_lmax[v_i] / 2 THEN p_lmax[v_i] ELSE v_d * 2 END;
					v_k := v_k + 1;
				END LOOP;
				v_d := p_sub[v_i] + LEAST(v_d, p_lmax[v_i]);
				v_until[v_u] := p_now[v_i] + v_d / 1000000 - (v_d % 1000000 < 0)::INTEGER;
			END IF;
			v_dirty[v_u] := true;
			o_outcome := 2;
			v_cred[v_i] := p_ev_cred[v_i];
			v_audit[v_i] := '` + OutcomeInvalid + `';
		END IF;
		o_failures := v_failures[v_u];
		o_locked_until := v_until[v_u];
		o_lockouts := v_lockouts[v_u];
		RETURN NEXT;
	END LOOP;
	UPDATE user_state s SET failures = x.failures, locked_until = x.locked, lockouts = x.lockouts
		FROM unnest(p_users, v_failures, v_until, v_lockouts, v_dirty) x(id, failures, locked, lockouts, dirty)
		WHERE x.dirty AND s.user_id = x.id;
	INSERT INTO audit (at, user_id, credential_id, client, action, outcome)
		SELECT x.at, x.usr, x.cred, x.client, x.action, x.outcome
		FROM unnest(p_at, p_ev_user, v_cred, p_client, p_action, v_audit) WITH ORDINALITY
			x(at, usr, cred, client, action, outcome, pos)
		WHERE x.outcome IS NOT NULL ORDER BY x.pos;
END
$$`

const pgVerifyBatch = `SELECT o_outcome, o_failures, o_locked_until, o_lockouts
	FROM latchkey_verify_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`

// attemptStale is latchkey_verify_batch's answer for credentials that
// changed.
const attemptStale = 4

// pgIDs encodes credential ids as latchkey_verify_batch compares them:
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

// Record is checkedRecorder's: on PostgreSQL a call of
// latchkey_verify_batch with the other verifications of the moment, one
// round trip and one transaction, which writes the audit record too (see
// pgBatcher); on SQLite Attempt.
func (s *sqlStore) Record(ctx context.Context, user string, now time.Time, l Lockout, c Check) (AttemptResult, error) {
	if !s.pipeline { // SQLite: its writer takes no round trip
		return s.Attempt(ctx, user, now, l, func() (Check, error) { return c, nil })
	}
	v, err := s.batcher.verify(ctx, &pgCall{user: user, now: now, l: l, ids: pgIDs(c.Credentials),
		cred: c.Credential, step: c.Step, ev: c.Event})
	if err != nil {
		return AttemptResult{}, s.errorf("verify", err)
	}
	r := AttemptResult{Outcome: v.outcome, Audited: true,
		State: UserState{Failures: v.failures, LockedUntil: fromMS(v.lockedUntil), Lockouts: v.lockouts}}
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
