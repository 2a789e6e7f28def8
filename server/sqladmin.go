package server

import (
	"context"
	"database/sql"
	"fmt"
)

// The administration tables and columns (issue 21): credential labels,
// client scopes and accept_empty, user groups and recovery codes. Each
// statement is idempotent, so an existing database of either dialect
// upgrades at start (SQLite through addColumnsSQLite, PostgreSQL through
// ADD COLUMN IF NOT EXISTS).
func adminSchema(dialect string) string {
	blob := "BLOB"
	if dialect == "postgres" {
		blob = "BYTEA"
	}
	return `
CREATE TABLE IF NOT EXISTS user_groups (
	user_id TEXT NOT NULL,
	group_name TEXT NOT NULL,
	PRIMARY KEY (user_id, group_name)
);
CREATE TABLE IF NOT EXISTS recovery_codes (
	user_id TEXT NOT NULL,
	id TEXT NOT NULL,
	hash ` + blob + ` NOT NULL,
	created BIGINT NOT NULL,
	used BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, id)
);
`
}

// adminColumns are the columns added to existing tables.
var adminColumns = []struct{ table, column, def string }{
	{"credentials", "label", "TEXT NOT NULL DEFAULT ''"},
	{"clients", "allowed_groups", "TEXT NOT NULL DEFAULT ''"},
	{"clients", "accept_empty", "INTEGER NOT NULL DEFAULT 0"},
}

// migrateAdminSQLite creates the administration tables and adds the
// columns an older database lacks.
func migrateAdminSQLite(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, adminSchema("sqlite")); err != nil {
		return fmt.Errorf("sqlite: upgrade schema: %w", err)
	}
	for _, c := range adminColumns {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: upgrade schema: %w", err)
		}
		if n == 0 {
			if _, err := db.ExecContext(ctx, "ALTER TABLE "+c.table+" ADD COLUMN "+c.column+" "+c.def); err != nil {
				return fmt.Errorf("sqlite: upgrade schema: %w", err)
			}
		}
	}
	return nil
}

// migrateAdminPostgres does the same inside migratePostgres's locked
// transaction.
func migrateAdminPostgres(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, adminSchema("postgres")); err != nil {
		return fmt.Errorf("postgres: upgrade schema: %w", err)
	}
	for _, c := range adminColumns {
		if _, err := tx.ExecContext(ctx, "ALTER TABLE "+c.table+" ADD COLUMN IF NOT EXISTS "+c.column+" "+c.def); err != nil {
			return fmt.Errorf("postgres: upgrade schema: %w", err)
		}
	}
	return nil
}

// Unlock resets user's failures, lock and back-off in one statement and
// returns the state it replaced (SQLite: in the group writer's batch).
func (s *sqlStore) Unlock(ctx context.Context, user string) (UserState, error) {
	defer s.invalidate(user)
	var st UserState
	unlock := func(ctx context.Context, tx *sql.Tx) error {
		var locked int64
		// The upsert also takes PostgreSQL's row lock, so an Attempt running
		// now finishes before or after the reset, not across it.
		err := tx.QueryRowContext(ctx, s.q.lockUser, user).Scan(&st.Failures, &locked, &st.Lockouts)
		if err != nil {
			return s.errorf("unlock", err)
		}
		st.LockedUntil = fromMS(locked)
		if _, err := tx.ExecContext(ctx, s.q.lock, 0, 0, 0, user); err != nil {
			return s.errorf("unlock", err)
		}
		return nil
	}
	if s.writer != nil {
		if err := s.writer.doUser(ctx, user, unlock, nil); err != nil {
			return UserState{}, err
		}
		return st, nil
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return UserState{}, s.errorf("unlock", err)
	}
	defer tx.Rollback()
	if err := unlock(ctx, tx); err != nil {
		return UserState{}, err
	}
	if err := tx.Commit(); err != nil {
		return UserState{}, s.errorf("unlock", err)
	}
	return st, nil
}

// SetUserGroups replaces user's groups in one transaction.
func (s *sqlStore) SetUserGroups(ctx context.Context, user string, groups []string) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.errorf("set groups", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM user_groups WHERE user_id = $1`), user); err != nil {
		return s.errorf("set groups", err)
	}
	for _, g := range groups {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO user_groups (user_id, group_name) VALUES ($1, $2)`), user, g); err != nil {
			return s.errorf("set groups", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.errorf("set groups", err)
	}
	return nil
}

// UserGroups returns user's groups, sorted.
func (s *sqlStore) UserGroups(ctx context.Context, user string) ([]string, error) {
	st, err := s.stmt(ctx, s.rdb, s.rebind(`SELECT group_name FROM user_groups WHERE user_id = $1 ORDER BY group_name`))
	if err != nil {
		return nil, s.errorf("groups", err)
	}
	rows, err := st.QueryContext(ctx, user)
	if err != nil {
		return nil, s.errorf("groups", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, s.errorf("groups", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf("groups", err)
	}
	return out, nil
}
