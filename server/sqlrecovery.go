package server

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// SetRecoveryCodes replaces user's recovery codes with codes, with ev
// in the audit log, in one transaction: the old set ends as the new one
// starts.
func (s *sqlStore) SetRecoveryCodes(ctx context.Context, user string, codes []RecoveryCode, ev Event) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("recovery codes", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM recovery_codes WHERE user_id = $1`), user); err != nil {
		return s.errorf("recovery codes", err)
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO recovery_codes (user_id, id, hash, created, used) VALUES ($1, $2, $3, $4, 0)`),
			user, c.ID, c.Hash, ms(ev.Time)); err != nil {
			return s.errorf("recovery codes", err)
		}
	}
	if err := s.audit(ctx, tx, ev); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("recovery codes", err)
	}
	return nil
}

// RecoveryCodeHash returns the hash of user's unused recovery code id,
// or nil when there is none.
func (s *sqlStore) RecoveryCodeHash(ctx context.Context, user, id string) ([]byte, error) {
	var h []byte
	err := s.rdb.QueryRowContext(ctx, s.rebind(`SELECT hash FROM recovery_codes WHERE user_id = $1 AND id = $2 AND used = 0`), user, id).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.errorf("recovery code", err)
	}
	return h, nil
}

// RecoveryCodesLeft counts user's unused recovery codes.
func (s *sqlStore) RecoveryCodesLeft(ctx context.Context, user string) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used = 0`), user).Scan(&n); err != nil {
		return 0, s.errorf("recovery codes", err)
	}
	return n, nil
}

// UseRecoveryCode is Attempt for a recovery code whose hash matched (id
// set) or did not (id empty): with the user's throttling row held, it
// refuses a locked user, else marks the code used by compare-and-set
// (of concurrent uses exactly one wins), resets failures and writes ev;
// a miss, or a code used meanwhile, counts as a failure and may lock.
// It returns the unused codes left after a success.
func (s *sqlStore) UseRecoveryCode(ctx context.Context, user, id string, now time.Time, l Lockout, ev Event) (AttemptResult, int, error) {
	defer s.invalidate(user)
	var r AttemptResult
	var left int
	use := func(ctx context.Context, tx *sql.Tx) error {
		var err error
		r, left, err = s.useRecoveryCode(ctx, tx, user, id, now, l, ev)
		return err
	}
	if s.writer != nil { // SQLite: in the verifications' group commit
		err := s.writer.doUser(ctx, user, use, nil)
		return r, left, err
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return AttemptResult{}, 0, s.errorf("recovery code", err)
	}
	defer tx.Rollback()
	if err := use(ctx, tx); err != nil {
		return AttemptResult{}, 0, err
	}
	if err := tx.Commit(); err != nil {
		return AttemptResult{}, 0, s.errorf("recovery code", err)
	}
	return r, left, nil
}

// useRecoveryCode is UseRecoveryCode's work inside tx, which the caller
// commits.
func (s *sqlStore) useRecoveryCode(ctx context.Context, tx *sql.Tx, user, id string, now time.Time, l Lockout, ev Event) (AttemptResult, int, error) {
	var r AttemptResult
	var locked int64
	if err := tx.QueryRowContext(ctx, s.q.lockUser, user).Scan(&r.State.Failures, &locked, &r.State.Lockouts); err != nil {
		return AttemptResult{}, 0, s.errorf("recovery code", err)
	}
	r.State.LockedUntil = fromMS(locked)
	if r.State.LockedUntil.After(now) {
		r.Outcome = AttemptLocked
		return r, 0, nil
	}
	if id != "" {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE recovery_codes SET used = $1 WHERE user_id = $2 AND id = $3 AND used = 0`), ms(now), user, id)
		if err != nil {
			return AttemptResult{}, 0, s.errorf("recovery code", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return AttemptResult{}, 0, s.errorf("recovery code", err)
		} else if n == 1 {
			var left int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used = 0`), user).Scan(&left); err != nil {
				return AttemptResult{}, 0, s.errorf("recovery code", err)
			}
			if _, err := tx.ExecContext(ctx, s.q.resetFailures, user); err != nil {
				return AttemptResult{}, 0, s.errorf("recovery code", err)
			}
			if err := s.audit(ctx, tx, ev); err != nil {
				return AttemptResult{}, 0, err
			}
			r.Outcome, r.State.Failures, r.State.Lockouts = AttemptAccepted, 0, 0
			return r, left, nil
		}
	}
	r.Outcome = AttemptFailed
	r.State, r.NewLock = l.fail(r.State, now)
	if _, err := tx.ExecContext(ctx, s.q.lock, r.State.Failures, ms(r.State.LockedUntil), r.State.Lockouts, user); err != nil {
		return AttemptResult{}, 0, s.errorf("recovery code", err)
	}
	return r, 0, nil
}
