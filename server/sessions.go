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
