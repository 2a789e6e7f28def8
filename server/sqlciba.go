package server

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"latchkey/server/oidc/grants/ciba"
)

// The CIBA tables (see ciba.Store) and the pairing links (pairing.go).
// The schema is the same in both dialects but for BLOB/BYTEA and
// INTEGER/BIGINT, which cibaSchema fills in.
const cibaSchemaTmpl = `
CREATE TABLE IF NOT EXISTS ciba_requests (
	id TEXT PRIMARY KEY,
	client_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	scope TEXT NOT NULL,
	binding_message TEXT NOT NULL,
	require_otp INTEGER NOT NULL DEFAULT 0,
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL,
	interval_ms BIGINT NOT NULL,
	last_poll BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	answered BIGINT NOT NULL DEFAULT 0,
	device_id TEXT NOT NULL DEFAULT '',
	amr TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ciba_requests_user ON ciba_requests (user_id, status, expires);
CREATE TABLE IF NOT EXISTS ciba_devices (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	public_key BYTES NOT NULL,
	created BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ciba_devices_credential ON ciba_devices (user_id, credential_id);
CREATE TABLE IF NOT EXISTS ciba_clients (
	client_id TEXT PRIMARY KEY,
	require_otp INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pairing_links (
	token_hash BYTES PRIMARY KEY,
	user_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	expires BIGINT NOT NULL,
	redeemed INTEGER NOT NULL DEFAULT 0
);
`

// cibaSchema returns the CIBA tables in a dialect ("sqlite" or "postgres").
func cibaSchema(dialect string) string {
	if dialect == "postgres" {
		return strings.ReplaceAll(cibaSchemaTmpl, "BYTES", "BYTEA")
	}
	return strings.ReplaceAll(cibaSchemaTmpl, "BYTES", "BLOB")
}

const cibaRequestCols = `id, client_id, user_id, scope, binding_message, require_otp, created, expires, interval_ms,
	last_poll, status, answered, device_id, amr`

func scanCIBARequest(sc interface{ Scan(...any) error }) (ciba.Request, error) {
	var r ciba.Request
	var otp int
	var created, expires, interval, lastPoll, answered int64
	var amr string
	err := sc.Scan(&r.ID, &r.Client, &r.User, &r.Scope, &r.BindingMessage, &otp, &created, &expires, &interval,
		&lastPoll, &r.Status, &answered, &r.Device, &amr)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	r.RequireOTP = otp != 0
	r.Created, r.Expires, r.LastPoll, r.Answered = fromMS(created), fromMS(expires), fromMS(lastPoll), fromMS(answered)
	r.Interval = time.Duration(interval) * time.Millisecond
	r.AMR = strings.Fields(amr)
	return r, err
}

func (s *sqlStore) CreateCIBARequest(ctx context.Context, r ciba.Request) error {
	_, err := s.wdb.ExecContext(ctx, s.rebind(`INSERT INTO ciba_requests (`+cibaRequestCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`),
		r.ID, r.Client, r.User, r.Scope, r.BindingMessage, b2i(r.RequireOTP), ms(r.Created), ms(r.Expires),
		r.Interval.Milliseconds(), ms(r.LastPoll), r.Status, ms(r.Answered), r.Device, strings.Join(r.AMR, " "))
	if err != nil {
		return s.errorf("create ciba request", err)
	}
	return nil
}

func (s *sqlStore) CIBARequest(ctx context.Context, id string) (ciba.Request, error) {
	r, err := scanCIBARequest(s.rdb.QueryRowContext(ctx, s.rebind(`SELECT `+cibaRequestCols+` FROM ciba_requests WHERE id = $1`), id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return r, s.errorf("ciba request", err)
	}
	return r, err
}

// UpdateCIBARequest locks the row: SQLite's write transactions are
// IMMEDIATE (one writer), PostgreSQL's SELECT takes FOR UPDATE.
func (s *sqlStore) UpdateCIBARequest(ctx context.Context, id string, fn func(*ciba.Request) error) (ciba.Request, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return ciba.Request{}, s.errorf("update ciba request", err)
	}
	defer tx.Rollback()
	q := `SELECT ` + cibaRequestCols + ` FROM ciba_requests WHERE id = $1`
	if s.name == "postgres" {
		q += ` FOR UPDATE`
	}
	r, err := scanCIBARequest(tx.QueryRowContext(ctx, s.rebind(q), id))
	if errors.Is(err, ErrNotFound) {
		return r, err
	}
	if err != nil {
		return r, s.errorf("update ciba request", err)
	}
	if err := fn(&r); err != nil {
		return r, err
	}
	_, err = tx.ExecContext(ctx, s.rebind(`UPDATE ciba_requests SET interval_ms = $1, last_poll = $2, status = $3,
		answered = $4, device_id = $5, amr = $6 WHERE id = $7`),
		r.Interval.Milliseconds(), ms(r.LastPoll), r.Status, ms(r.Answered), r.Device, strings.Join(r.AMR, " "), id)
	if err != nil {
		return r, s.errorf("update ciba request", err)
	}
	if err := tx.Commit(); err != nil {
		return r, s.errorf("update ciba request", err)
	}
	return r, nil
}

func (s *sqlStore) PendingCIBARequests(ctx context.Context, user string, now time.Time) ([]ciba.Request, error) {
	rows, err := s.rdb.QueryContext(ctx, s.rebind(`SELECT `+cibaRequestCols+` FROM ciba_requests
		WHERE user_id = $1 AND status = 'pending' AND expires > $2 ORDER BY created, id`), user, ms(now))
	if err != nil {
		return nil, s.errorf("pending ciba requests", err)
	}
	defer rows.Close()
	var out []ciba.Request
	for rows.Next() {
		r, err := scanCIBARequest(rows)
		if err != nil {
			return nil, s.errorf("pending ciba requests", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqlStore) DeleteCIBARequests(ctx context.Context, before time.Time) error {
	_, err := s.wdb.ExecContext(ctx, s.rebind(`DELETE FROM ciba_requests WHERE expires < $1`), ms(before))
	if err != nil {
		return s.errorf("sweep ciba requests", err)
	}
	return nil
}

func (s *sqlStore) AddDevice(ctx context.Context, d ciba.Device) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("add device", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ciba_devices WHERE user_id = $1 AND credential_id = $2`),
		d.User, d.Credential); err != nil {
		return s.errorf("add device", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ciba_devices (id, user_id, credential_id, public_key, created)
		VALUES ($1, $2, $3, $4, $5)`), d.ID, d.User, d.Credential, []byte(d.PublicKey), ms(d.Created)); err != nil {
		return s.errorf("add device", err)
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("add device", err)
	}
	return nil
}

const deviceCols = `d.id, d.user_id, d.credential_id, d.public_key, d.created`

func scanDevice(sc interface{ Scan(...any) error }) (ciba.Device, error) {
	var d ciba.Device
	var pub []byte
	var created int64
	err := sc.Scan(&d.ID, &d.User, &d.Credential, &pub, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return d, ErrNotFound
	}
	d.PublicKey, d.Created = pub, fromMS(created)
	return d, err
}

// Device joins the credential, so that deleting a credential unpairs its
// device at once.
func (s *sqlStore) Device(ctx context.Context, id string) (ciba.Device, error) {
	d, err := scanDevice(s.rdb.QueryRowContext(ctx, s.rebind(`SELECT `+deviceCols+` FROM ciba_devices d
		JOIN credentials c ON c.id = d.credential_id AND c.user_id = d.user_id AND c.verified = 1
		WHERE d.id = $1`), id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return d, s.errorf("device", err)
	}
	return d, err
}

func (s *sqlStore) Devices(ctx context.Context, user string) ([]ciba.Device, error) {
	rows, err := s.rdb.QueryContext(ctx, s.rebind(`SELECT `+deviceCols+` FROM ciba_devices d
		JOIN credentials c ON c.id = d.credential_id AND c.user_id = d.user_id AND c.verified = 1
		WHERE d.user_id = $1 ORDER BY d.created, d.id`), user)
	if err != nil {
		return nil, s.errorf("devices", err)
	}
	defer rows.Close()
	var out []ciba.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, s.errorf("devices", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *sqlStore) DeleteDevice(ctx context.Context, user, id string) error {
	res, err := s.wdb.ExecContext(ctx, s.rebind(`DELETE FROM ciba_devices WHERE user_id = $1 AND id = $2`), user, id)
	if err != nil {
		return s.errorf("delete device", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (s *sqlStore) CIBARequireOTP(ctx context.Context, client string) (bool, error) {
	var on int
	err := s.rdb.QueryRowContext(ctx, s.rebind(`SELECT require_otp FROM ciba_clients WHERE client_id = $1`), client).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.errorf("ciba client", err)
	}
	return on != 0, nil
}

func (s *sqlStore) SetCIBARequireOTP(ctx context.Context, client string, on bool) error {
	_, err := s.wdb.ExecContext(ctx, s.rebind(`INSERT INTO ciba_clients (client_id, require_otp) VALUES ($1, $2)
		ON CONFLICT (client_id) DO UPDATE SET require_otp = excluded.require_otp`), client, b2i(on))
	if err != nil {
		return s.errorf("ciba client", err)
	}
	return nil
}

// CreatePairingLink stores a pairing link, replacing any other of its
// credential and dropping links that expired before sweepBefore.
func (s *sqlStore) CreatePairingLink(ctx context.Context, l Link, sweepBefore time.Time) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("create pairing link", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM pairing_links WHERE (user_id = $1 AND credential_id = $2) OR expires < $3`),
		l.User, l.Credential, ms(sweepBefore)); err != nil {
		return s.errorf("create pairing link", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO pairing_links (token_hash, user_id, credential_id, expires)
		VALUES ($1, $2, $3, $4)`), l.Hash, l.User, l.Credential, ms(l.Expires)); err != nil {
		return s.errorf("create pairing link", err)
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("create pairing link", err)
	}
	return nil
}

// PairingLink returns the unredeemed link with hash, unexpired at now.
func (s *sqlStore) PairingLink(ctx context.Context, hash []byte, now time.Time) (Link, error) {
	var l Link
	var exp int64
	err := s.rdb.QueryRowContext(ctx, s.rebind(`SELECT user_id, credential_id, expires FROM pairing_links
		WHERE token_hash = $1 AND redeemed = 0 AND expires > $2`), hash, ms(now)).Scan(&l.User, &l.Credential, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return l, ErrNotFound
	}
	if err != nil {
		return l, s.errorf("pairing link", err)
	}
	l.Hash, l.Expires = hash, fromMS(exp)
	return l, nil
}

// RedeemPairingLink marks the link used; of concurrent calls one wins.
func (s *sqlStore) RedeemPairingLink(ctx context.Context, hash []byte, now time.Time) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, s.rebind(`UPDATE pairing_links SET redeemed = 1
		WHERE token_hash = $1 AND redeemed = 0 AND expires > $2`), hash, ms(now))
	if err != nil {
		return false, s.errorf("redeem pairing link", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
