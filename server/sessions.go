package server

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// HelpdeskSession is a signed-in helpdesk browser as stored: the hash of
// the cookie's random id, never the id, so a database reader cannot sign
// in. KeyID names the admin token and helpdesk password the session was
// opened under: changing either ends every session, on every instance.
type HelpdeskSession struct {
	Hash    []byte
	KeyID   []byte
	Expires time.Time
}

// The Store methods of helpdesk sessions and sign-in throttling
// (helpdesk.go), shared by SQLite and PostgreSQL.

func (s *sqlStore) CreateSession(ctx context.Context, hs HelpdeskSession, now time.Time) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("create session", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM helpdesk_sessions WHERE expires <= $1`), ms(now)); err != nil {
		return s.errorf("create session", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO helpdesk_sessions (id_hash, key_id, expires) VALUES ($1, $2, $3)`),
		hs.Hash, hs.KeyID, ms(hs.Expires)); err != nil {
		return s.errorf("create session", err)
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("create session", err)
	}
	return nil
}

func (s *sqlStore) Session(ctx context.Context, hash []byte) (HelpdeskSession, error) {
	hs := HelpdeskSession{Hash: hash}
	var expires int64
	err := s.rdb.QueryRowContext(ctx, s.rebind(`SELECT key_id, expires FROM helpdesk_sessions WHERE id_hash = $1`), hash).Scan(&hs.KeyID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return HelpdeskSession{}, ErrNotFound
	}
	if err != nil {
		return HelpdeskSession{}, s.errorf("get session", err)
	}
	hs.Expires = fromMS(expires)
	return hs, nil
}

func (s *sqlStore) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := s.wdb.ExecContext(ctx, s.rebind(`DELETE FROM helpdesk_sessions WHERE id_hash = $1`), hash); err != nil {
		return s.errorf("delete session", err)
	}
	return nil
}

func (s *sqlStore) BeginLogin(ctx context.Context, source string, now time.Time, free int, maxDelay time.Duration) (LoginAttempt, error) {
	// Counted before the secret is checked; past the free attempts the
	// form closes (for maxDelay until EndLogin sets the real delay), so
	// a burst from one source gets no more guesses than a sequence.
	var a LoginAttempt
	err := s.wdb.QueryRowContext(ctx, s.rebind(`INSERT INTO login_throttle (source, failures, closed_until)
		VALUES ($1, 1, CASE WHEN 1 > $2 THEN CAST($4 AS BIGINT) ELSE 0 END)
		ON CONFLICT (source) DO UPDATE SET failures = login_throttle.failures + 1,
			closed_until = CASE WHEN login_throttle.failures + 1 > $2 THEN CAST($4 AS BIGINT) ELSE 0 END
		WHERE login_throttle.closed_until <= $3
		RETURNING failures`), source, free, ms(now), ms(now.Add(maxDelay))).Scan(&a.N)
	if err == nil {
		a.Allowed = true
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return a, s.errorf("begin login", err)
	}
	var closed int64
	if err := s.rdb.QueryRowContext(ctx, s.rebind(`SELECT failures, closed_until FROM login_throttle WHERE source = $1`), source).Scan(&a.N, &closed); err != nil {
		return a, s.errorf("begin login", err)
	}
	a.RetryAt = fromMS(closed)
	return a, nil
}

func (s *sqlStore) EndLogin(ctx context.Context, source string, ok bool, closedUntil time.Time) error {
	var err error
	if ok {
		_, err = s.wdb.ExecContext(ctx, s.rebind(`DELETE FROM login_throttle WHERE source = $1`), source)
	} else {
		_, err = s.wdb.ExecContext(ctx, s.rebind(`UPDATE login_throttle SET closed_until = $1 WHERE source = $2`), ms(closedUntil), source)
	}
	if err != nil {
		return s.errorf("end login", err)
	}
	return nil
}
