package server

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

const postgresSchema = `
CREATE TABLE IF NOT EXISTS clients (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	secret_hash BYTEA NOT NULL,
	created BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS credentials (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	name TEXT NOT NULL,
	issuer TEXT NOT NULL,
	algorithm TEXT NOT NULL,
	digits INTEGER NOT NULL,
	period INTEGER NOT NULL,
	secret BYTEA NOT NULL,
	verified INTEGER NOT NULL DEFAULT 0,
	created BIGINT NOT NULL,
	expires BIGINT NOT NULL DEFAULT 0,
	last_step BIGINT NOT NULL DEFAULT -1,
	last_used BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS credentials_user ON credentials (user_id, verified);
CREATE TABLE IF NOT EXISTS user_state (
	user_id TEXT PRIMARY KEY,
	failures INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT NOT NULL DEFAULT 0,
	lockouts INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS audit (
	id BIGSERIAL PRIMARY KEY,
	at BIGINT NOT NULL,
	user_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	client TEXT NOT NULL,
	action TEXT NOT NULL,
	outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_user ON audit (user_id, id);
CREATE TABLE IF NOT EXISTS enrollment_links (
	token_hash BYTEA PRIMARY KEY,
	user_id TEXT NOT NULL,
	credential_id TEXT NOT NULL,
	expires BIGINT NOT NULL,
	redeemed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS helpdesk_sessions (
	id_hash BYTEA PRIMARY KEY,
	key_id BYTEA NOT NULL,
	expires BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS login_throttle (
	source TEXT PRIMARY KEY,
	failures INTEGER NOT NULL,
	closed_until BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS health (
	id INTEGER PRIMARY KEY,
	at BIGINT NOT NULL
);
`

// OpenPostgres connects to PostgreSQL at dsn (a postgres:// URL) with pgx
// and creates the schema if needed. Several server instances may share
// one database: replay and throttling state is changed only by
// conditional statements that PostgreSQL serializes per row.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	st := newSQLStore("postgres", db, db, func(q string) string { return q })
	st.pipeline = true
	st.batcher = newPGBatcher(db)
	st.cache = newUserCache()
	return st, nil
}

// migratePostgres creates the schema under an advisory lock, so that two
// instances starting together do not race on CREATE TABLE.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7406514)`); err != nil {
		return fmt.Errorf("postgres: lock schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, postgresSchema); err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	// Columns added since the first schema.
	if _, err := tx.ExecContext(ctx, `ALTER TABLE user_state ADD COLUMN IF NOT EXISTS lockouts INTEGER NOT NULL DEFAULT 0`); err != nil {
		return fmt.Errorf("postgres: migrate schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, oidcPostgresSchema); err != nil {
		return fmt.Errorf("postgres: upgrade schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, emailPostgresSchema); err != nil {
		return fmt.Errorf("postgres: upgrade schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, cibaSchema("postgres")); err != nil {
		return fmt.Errorf("postgres: upgrade schema: %w", err)
	}
	if err := migrateAdminPostgres(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, pgRecordFunction); err != nil {
		return fmt.Errorf("postgres: upgrade schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, pgVerifyFunction); err != nil {
		return fmt.Errorf("postgres: upgrade schema: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	return nil
}
