package server

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgRecordFunction records a checked code for a user whose user_state row
// the calling transaction holds and found unlocked: the compare-and-set
// of a matched step (with the reset of failures and the audit row), or a
// failure with the state the caller computed for it. It returns the
// outcome as Attempt numbers it: 0 accepted, 1 replayed, 2 failed.
const pgRecordFunction = `
CREATE OR REPLACE FUNCTION latchkey_record(p_user TEXT, p_now BIGINT, p_cred TEXT, p_step BIGINT, p_confirm BOOLEAN,
	p_failures INTEGER, p_locked_until BIGINT, p_lockouts INTEGER,
	p_ev_at BIGINT, p_ev_user TEXT, p_ev_cred TEXT, p_ev_client TEXT, p_ev_action TEXT, p_ev_outcome TEXT)
RETURNS INTEGER LANGUAGE plpgsql AS $$
BEGIN
	IF p_cred <> '' THEN
		IF p_confirm THEN
			UPDATE credentials SET verified = 1, expires = 0, last_step = p_step, last_used = p_now
			WHERE id = p_cred AND user_id = p_user AND verified = 0 AND expires > p_now AND last_step < p_step;
		ELSE
			UPDATE credentials SET last_step = p_step, last_used = p_now
			WHERE id = p_cred AND user_id = p_user AND verified = 1 AND last_step < p_step;
		END IF;
		IF FOUND THEN
			UPDATE user_state SET failures = 0, lockouts = 0 WHERE user_id = p_user AND (failures > 0 OR lockouts > 0);
			INSERT INTO audit (at, user_id, credential_id, client, action, outcome)
			VALUES (p_ev_at, p_ev_user, p_ev_cred, p_ev_client, p_ev_action, p_ev_outcome);
			RETURN 0;
		END IF;
		IF NOT p_confirm THEN
			RETURN 1;
		END IF;
	END IF;
	UPDATE user_state SET failures = p_failures, locked_until = p_locked_until, lockouts = p_lockouts WHERE user_id = p_user;
	RETURN 2;
END
$$`

const pgRecord = `SELECT latchkey_record($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// pgSelectUser locks a user's state row, when there is one, and lists
// the user's verified credentials, to compare with the ones a code was
// checked against. Unlike an upsert it writes no new row version.
const pgSelectUser = `SELECT failures, locked_until, lockouts,
		ARRAY(SELECT id FROM credentials WHERE user_id = $1 AND verified = 1 ORDER BY created, id)
	FROM user_state WHERE user_id = $1 FOR UPDATE`

// pgLockUser is pgSelectUser for a user without a row yet: the store's
// lockUser, an upsert, which of concurrent first attempts lets one
// insert and the others wait for its row.
const pgLockUser = `INSERT INTO user_state (user_id, failures, locked_until, lockouts) VALUES ($1, 0, 0, 0)
	ON CONFLICT (user_id) DO UPDATE SET failures = user_state.failures
	RETURNING failures, locked_until, lockouts,
		ARRAY(SELECT id FROM credentials WHERE user_id = $1 AND verified = 1 ORDER BY created, id)`

// pgAttempt is Attempt on PostgreSQL in two round trips, each a pgx
// pipeline: BEGIN with the read that locks the user's state row (and
// lists the user's verified credentials; a third round trip makes the
// row at a user's first attempt), then, the code checked in
// between unless the user is locked, latchkey_record with COMMIT. The
// row lock orders concurrent attempts for one user, also from other
// instances, as before; database/sql's own transaction would take two
// more round trips (BEGIN and COMMIT alone). An enrollment confirmation
// takes this way, as its code is checked under the lock; a verification
// takes one round trip (see Record).
func (s *sqlStore) pgAttempt(ctx context.Context, user string, now time.Time, l Lockout, check func() (Check, error)) (AttemptResult, error) {
	conn, err := s.wdb.Conn(ctx)
	if err != nil {
		return AttemptResult{}, s.errorf("attempt", err)
	}
	defer conn.Close()
	var r AttemptResult
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		var b pgx.Batch
		b.Queue("BEGIN")
		var locked int64
		var ids []string
		found := true
		b.Queue(pgSelectUser, user).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&r.State.Failures, &locked, &r.State.Lockouts, &ids)
			if errors.Is(err, pgx.ErrNoRows) {
				found, err = false, nil
			}
			return err
		})
		if err := pc.SendBatch(ctx, &b).Close(); err != nil {
			return rollback(pc, err)
		}
		if !found { // the user's first attempt: make the row to lock
			if err := pc.QueryRow(ctx, pgLockUser, user).Scan(&r.State.Failures, &locked, &r.State.Lockouts, &ids); err != nil {
				return rollback(pc, err)
			}
		}
		r.State.LockedUntil = fromMS(locked)
		if r.State.LockedUntil.After(now) {
			r.Outcome = AttemptLocked
			return rollback(pc, nil)
		}
		c, err := check()
		if err != nil {
			return rollback(pc, err)
		}
		if c.Credentials != nil && !slices.Equal(c.Credentials, ids) {
			return rollback(pc, ErrStale)
		}
		// The state a failure leaves, should this attempt be one.
		fail, newLock := l.fail(r.State, now)
		ev := c.Event
		b = pgx.Batch{}
		b.Queue(pgRecord, user, ms(now), c.Credential, c.Step, c.Confirm,
			fail.Failures, ms(fail.LockedUntil), fail.Lockouts,
			ms(ev.Time), ev.User, ev.Credential, ev.Client, ev.Action, ev.Outcome).QueryRow(func(row pgx.Row) error {
			return row.Scan(&r.Outcome)
		})
		b.Queue("COMMIT")
		if err := pc.SendBatch(ctx, &b).Close(); err != nil {
			return rollback(pc, err)
		}
		switch r.Outcome {
		case AttemptAccepted:
			r.State.Failures, r.State.Lockouts = 0, 0
		case AttemptFailed:
			r.State, r.NewLock = fail, newLock
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrStale):
		s.invalidate(user)
		return AttemptResult{}, err
	case err != nil:
		return AttemptResult{}, s.errorf("attempt", err)
	}
	// As on SQLite (see Attempt): a failure or a lock is the only change.
	switch r.Outcome {
	case AttemptAccepted:
		s.invalidate(user)
	case AttemptFailed, AttemptLocked:
		s.cache.setState(user, r.State)
	}
	return r, nil
}

// rollback ends pc's transaction after err (nil for a plain refusal). A
// connection that cannot roll back is dropped from the pool.
func rollback(pc *pgx.Conn, err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, rerr := pc.Exec(ctx, "ROLLBACK"); rerr != nil {
		if err == nil {
			err = fmt.Errorf("rollback: %w", rerr)
		}
		return errors.Join(err, driver.ErrBadConn)
	}
	return err
}
