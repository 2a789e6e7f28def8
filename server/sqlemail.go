package server

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"time"

	"latchkey/server/oidc/grants/emailotp"
)

// The email code grant's tables (see emailotp.Store): one row per code
// sent, kept until it expires, and one per limit key (an address or a
// client) for the hourly limits and the wrong-code back-off. The first
// version's tables held unkeyed hashes, of no use to this one: they go.
const emailSQLiteSchema = `
DROP TABLE IF EXISTS email_challenges;
DROP TABLE IF EXISTS email_addresses;
CREATE TABLE IF NOT EXISTS email_otp_challenges (
	ref_hash BLOB PRIMARY KEY,
	code_hash BLOB NOT NULL,
	client_id TEXT NOT NULL,
	address TEXT NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS email_otp_challenges_by_address ON email_otp_challenges (address, client_id);
CREATE TABLE IF NOT EXISTS email_otp_limits (
	limit_key TEXT PRIMARY KEY,
	window_start INTEGER NOT NULL,
	sent INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	locked_until INTEGER NOT NULL DEFAULT 0
);
`

const emailPostgresSchema = `
DROP TABLE IF EXISTS email_challenges;
DROP TABLE IF EXISTS email_addresses;
CREATE TABLE IF NOT EXISTS email_otp_challenges (
	ref_hash BYTEA PRIMARY KEY,
	code_hash BYTEA NOT NULL,
	client_id TEXT NOT NULL,
	address TEXT NOT NULL,
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS email_otp_challenges_by_address ON email_otp_challenges (address, client_id);
CREATE TABLE IF NOT EXISTS email_otp_limits (
	limit_key TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	sent INTEGER NOT NULL DEFAULT 0,
	failures INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT NOT NULL DEFAULT 0
);
`

const limitCols = `sent, window_start, failures, locked_until`

func scanLimit(r scanner) (emailotp.Limit, error) {
	var a emailotp.Limit
	var ws, lu int64
	err := r.Scan(&a.Sent, &ws, &a.Failures, &lu)
	a.WindowStart, a.LockedUntil = fromMS(ws), fromMS(lu)
	return a, err
}

// CountEmailSend adds one send to the address's window, or starts a new
// window, in one upsert: all SET expressions read the old row, so two
// instances counting together both count.
func (s *sqlStore) CountEmailSend(ctx context.Context, key string, now, windowStart time.Time) (emailotp.Limit, error) {
	st, err := s.stmt(ctx, s.wdb, s.rebind(`INSERT INTO email_otp_limits (limit_key, window_start, sent, failures, locked_until)
		VALUES ($1, $2, 1, 0, 0)
		ON CONFLICT (limit_key) DO UPDATE SET
			sent = CASE WHEN email_otp_limits.window_start <= $3 THEN 1 ELSE email_otp_limits.sent + 1 END,
			window_start = CASE WHEN email_otp_limits.window_start <= $3 THEN $2 ELSE email_otp_limits.window_start END
		RETURNING `+limitCols))
	if err != nil {
		return emailotp.Limit{}, s.errorf("count email send", err)
	}
	a, err := scanLimit(st.QueryRowContext(ctx, key, ms(now), ms(windowStart)))
	if err != nil {
		return a, s.errorf("count email send", err)
	}
	return a, nil
}

// CreateEmailChallenge ends the earlier challenges of c's client and
// address and inserts c, in one transaction; one call in 64 also sweeps
// expired challenges and limits with nothing left to remember.
func (s *sqlStore) CreateEmailChallenge(ctx context.Context, c emailotp.Challenge, now, windowStart time.Time) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("create email challenge", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM email_otp_challenges WHERE address = $1 AND client_id = $2`),
		c.Address, c.Client); err != nil {
		return s.errorf("create email challenge", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO email_otp_challenges
		(ref_hash, code_hash, client_id, address, created, expires) VALUES ($1, $2, $3, $4, $5, $6)`),
		c.RefHash, c.CodeHash, c.Client, c.Address, ms(c.Created), ms(c.Expires)); err != nil {
		return s.errorf("create email challenge", err)
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("create email challenge", err)
	}
	if rand.IntN(64) == 0 {
		return s.sweepEmail(ctx, now, windowStart)
	}
	return nil
}

func (s *sqlStore) sweepEmail(ctx context.Context, now, windowStart time.Time) error {
	if _, err := s.wdb.ExecContext(ctx, s.rebind(`DELETE FROM email_otp_challenges WHERE expires < $1`), ms(now)); err != nil {
		return s.errorf("sweep email challenges", err)
	}
	if _, err := s.wdb.ExecContext(ctx, s.rebind(`DELETE FROM email_otp_limits
		WHERE window_start < $1 AND failures = 0 AND locked_until < $2`), ms(windowStart), ms(now)); err != nil {
		return s.errorf("sweep email addresses", err)
	}
	return nil
}

func (s *sqlStore) DeleteEmailChallenge(ctx context.Context, refHash []byte) error {
	if _, err := s.wdb.ExecContext(ctx, s.rebind(`DELETE FROM email_otp_challenges WHERE ref_hash = $1`), refHash); err != nil {
		return s.errorf("delete email challenge", err)
	}
	return nil
}

// AttemptEmailChallenge takes a guess by one conditional UPDATE; when it
// matches no row, a read tells the caller why.
func (s *sqlStore) AttemptEmailChallenge(ctx context.Context, refHash []byte, client string, now time.Time, maxAttempts int) (emailotp.Challenge, error) {
	st, err := s.stmt(ctx, s.wdb, s.rebind(`UPDATE email_otp_challenges SET attempts = attempts + 1
		WHERE ref_hash = $1 AND client_id = $2 AND used = 0 AND expires > $3 AND attempts < $4
		AND NOT EXISTS (SELECT 1 FROM email_otp_limits l WHERE l.limit_key = 'address:' || email_otp_challenges.address AND l.locked_until > $3)
		RETURNING code_hash, address, created, expires, attempts`))
	if err != nil {
		return emailotp.Challenge{}, s.errorf("attempt email challenge", err)
	}
	c := emailotp.Challenge{RefHash: refHash, Client: client}
	var created, expires int64
	err = st.QueryRowContext(ctx, refHash, client, ms(now), maxAttempts).Scan(&c.CodeHash, &c.Address, &created, &expires, &c.Attempts)
	if err == nil {
		c.Created, c.Expires = fromMS(created), fromMS(expires)
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return c, s.errorf("attempt email challenge", err)
	}
	var owner string
	var used int
	err = s.wdb.QueryRowContext(ctx, s.rebind(`SELECT client_id, address, used, attempts, expires FROM email_otp_challenges WHERE ref_hash = $1`),
		refHash).Scan(&owner, &c.Address, &used, &c.Attempts, &expires)
	c.Expires = fromMS(expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return emailotp.Challenge{}, emailotp.ErrNotFound
	case err != nil:
		return c, s.errorf("attempt email challenge", err)
	case owner != client || used != 0:
		return emailotp.Challenge{}, emailotp.ErrNotFound
	case expires <= ms(now):
		return c, emailotp.ErrExpired
	case c.Attempts >= maxAttempts:
		return c, emailotp.ErrExhausted
	}
	return c, emailotp.ErrLocked
}

// UseEmailChallenge marks the challenge used (one caller wins) and, for
// the winner, resets the address's failures, in one transaction.
func (s *sqlStore) UseEmailChallenge(ctx context.Context, refHash []byte, key string) (bool, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return false, s.errorf("use email challenge", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.rebind(`UPDATE email_otp_challenges SET used = 1 WHERE ref_hash = $1 AND used = 0`), refHash)
	if err != nil {
		return false, s.errorf("use email challenge", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE email_otp_limits SET failures = 0 WHERE limit_key = $1 AND failures > 0`), key); err != nil {
		return false, s.errorf("use email challenge", err)
	}
	if err := tx.Commit(); err != nil {
		return false, s.errorf("use email challenge", err)
	}
	return true, nil
}

// EmailFailure counts a wrong code and, past the limit, locks the address.
func (s *sqlStore) EmailFailure(ctx context.Context, key string, now time.Time, lockFor func(int) time.Duration) (emailotp.Limit, error) {
	st, err := s.stmt(ctx, s.wdb, s.rebind(`INSERT INTO email_otp_limits (limit_key, window_start, sent, failures, locked_until)
		VALUES ($1, $2, 0, 1, 0)
		ON CONFLICT (limit_key) DO UPDATE SET failures = email_otp_limits.failures + 1
		RETURNING `+limitCols))
	if err != nil {
		return emailotp.Limit{}, s.errorf("email failure", err)
	}
	a, err := scanLimit(st.QueryRowContext(ctx, key, ms(now)))
	if err != nil {
		return a, s.errorf("email failure", err)
	}
	if d := lockFor(a.Failures); d > 0 {
		a.LockedUntil = now.Add(d)
		if _, err := s.wdb.ExecContext(ctx, s.rebind(`UPDATE email_otp_limits SET locked_until = $1 WHERE limit_key = $2`),
			ms(a.LockedUntil), key); err != nil {
			return a, s.errorf("email lock", err)
		}
	}
	return a, nil
}

var _ emailotp.Store = (*sqlStore)(nil)
